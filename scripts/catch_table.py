#!/usr/bin/env python
"""Generate "What the suite catches" (docs/transformers.md): two Markdown tables.

1. The real-path mutant catalogue (tests/real_mutants.py: defects injected into transformers'
   own resize) run on its classes: mutant x class -> the checks that reported it (status
   ``failed``, on example cases that pass on the unmutated class). By default every check that
   applies to the class runs (its first passing case, ``--claimed`` runs only the checks each
   mutant names, as tests/test_mutants_transformers.py does).
2. The transformers defects documented in manifests/transformers.toml (one row per defect: an
   entry that continues the one above it, e.g. for its property cases, joins its row) with the
   number of classes each affects in a certify report (classes with a failing case the entry matches).

    python scripts/catch_table.py --readme docs/transformers.md --summary README.md   # regenerate both sections
    python scripts/catch_table.py --results out.json          # also keep the raw results
    python scripts/catch_table.py --from-results out.json     # render again without running
"""

import argparse
import fnmatch
import gzip
import json
import os
import re
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

START, END = "<!-- catch-table:start -->", "<!-- catch-table:end -->"
SUMMARY_START, SUMMARY_END = "<!-- catch-summary:start -->", "<!-- catch-summary:end -->"
SHORT = {"TFBertForMaskedLM": "BERT", "TFBartForConditionalGeneration": "BART", "TFGPT2LMHeadModel": "GPT-2",
         "TFT5ForConditionalGeneration": "T5", "TFRemBertForMaskedLM": "RemBERT"}
FAILING = ("failed", "error", "xfailed")
# A manifest entry whose reason starts like this continues the defect of the entry above it.
SAME_AS = re.compile(r"(Same root cause as|Property cases? of)", re.I)
CONTINUES = re.compile(r"(Property cases of the (checks|entry) above|Same root cause as the entry above)", re.I)


# -- running the catalogue -------------------------------------------------------------------------
def run_catalogue(claimed_only, classes=(), log=sys.stderr):
    import real_mutants as rm
    from real_path import FAILS_UNMUTATED, ClassSession

    out, classes_out = {}, {}
    for class_name in [c for c in rm.CLASSES if not classes or c in classes]:
        session = ClassSession(class_name)
        for mutant in [m for m in rm.CATALOGUE if class_name in m.classes]:
            start = time.perf_counter()
            entry = out.setdefault(mutant.__name__, {"defect": mutant.describe_defect(), "claims": sorted(mutant.kills),
                                                     "already_in_library": mutant.already_in_library,
                                                     "classes": {}})
            if mutant.already_in_library:
                entry["classes"][class_name] = {"killed": [], "ran": 0}
                continue
            checks = sorted(mutant.kills_on(class_name)) if claimed_only else \
                [c for c in session.applicable_checks() if c.split(".")[0] not in FAILS_UNMUTATED]
            results = session.run(mutant, checks, limit=None if claimed_only else 1)
            killed = sorted({r.check for r in results if r.status == "failed"})
            entry["classes"][class_name] = {"killed": killed, "ran": len(results)}
            print(f"{mutant.__name__} on {class_name}: {len(results)} cases, killed by {len(killed)} checks "
                  f"({time.perf_counter() - start:.1f}s)", file=log, flush=True)
        if not claimed_only:
            passing = {r.check for r in session.baseline.values() if r.status == "passed"}
            classes_out[class_name] = {"applicable": session.applicable_checks(), "passing": sorted(passing)}
    return out, classes_out


# -- the manifest's defects ---------------------------------------------------------------------
def _cut(text, width):
    """``text`` cut at a word to ``width`` characters, with "..." (a code span cut open is closed)."""
    if len(text) <= width:
        return text
    text = text[:width - 3].rsplit(" ", 1)[0] + "..."
    return text[:-3] + "`..." if text.count("`") % 2 else text


def _root_cause(reason):
    """The first sentence-like part of a manifest reason, on one line."""
    return _cut(" ".join(reason.split()), 220)


def defect_rows(manifest_path, report_path):
    """One row per defect: an entry whose reason says it continues the one above it (``CONTINUES``:
    the non-strict entry for the property cases, a second entry of the same root cause) joins its row."""
    from harness import manifest

    entries = manifest.load(manifest_path)
    report = _load(report_path)
    by_subject, ran_cases, ran_checks = {}, set(), set()
    for case in report.get("cases", []):
        if case["status"] in FAILING:
            by_subject.setdefault(case["subject"], []).append(case)
        if case["status"] != "not_applicable":
            ran_cases.add(case["id"].split("::", 1)[-1])
            ran_checks.add(case["check"])
    rows = []
    for entry in entries:
        if CONTINUES.match(entry.reason) and rows:
            rows[-1]["entries"].append(entry)
            continue
        rows.append({"entries": [entry], "reason": entry.reason, "category": entry.category})
    for row in rows:  # did the report run what the entry is about at all?
        row["in_report"] = any(any(manifest.case_glob_matches(p, c) for p in e.cases for c in ran_cases) if e.cases
                               else any(fnmatch.fnmatchcase(c, e.check) for c in ran_checks) for e in row["entries"])
        hit = set()
        for subject, cases in by_subject.items():
            for case in cases:
                case_id = case["id"].split("::", 1)[-1]
                if any(e.matches(subject, case_id, case["check"]) for e in row["entries"]):
                    hit.add(subject)
                    break
        row["classes"] = sorted(hit)
        row["globs"] = sorted({g for e in row["entries"] for g in e.classes})
        row["checks"] = sorted({c.split("[", 1)[0] for e in row["entries"] for c in e.cases}
                               or {e.check for e in row["entries"]})
    return rows, report.get("run", {}).get("versions", {})


def _load(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return json.load(fh)


# -- rendering ---------------------------------------------------------------------------------------
def _checks(check_ids):
    """``fam.a``, or ``fam.{a, b}`` for several checks of one family."""
    by_family = {}
    for check_id in check_ids:
        family, name = check_id.split(".", 1)
        by_family.setdefault(family, []).append(name)
    return ", ".join(f"`{f}.{names[0]}`" if len(names) == 1 else f"`{f}.{{{', '.join(names)}}}`"
                     for f, names in sorted(by_family.items()))


def _classes(results):
    """The real classes the mutants ran on, in the order of ``SHORT``."""
    return sorted({c for m in results.values() for c in m["classes"]},
                  key=lambda c: list(SHORT).index(c) if c in SHORT else len(SHORT))


def _mutant_cells(mutant, classes, describe, in_library):
    """One cell per class: ``-`` (does not apply), ``in_library``, ``describe(killed checks)`` or not caught."""
    return ["-" if c not in mutant["classes"] else in_library if mutant["already_in_library"] else
            describe(mutant["classes"][c]["killed"]) or "**not caught**" for c in classes]


def render(results, rows, versions, claimed_only, command, classes_info=None):
    classes = _classes(results)
    lines = [f"<!-- generated by `{command}`: do not edit by hand -->", "",
             f"**Defects injected into transformers' own resize** (`tests/real_mutants.py`, transformers "
             f"{versions.get('transformers', '?')}): for each mutant and real class, the checks that reported it "
             "as failed on cases that pass without the mutant "
             + ("(only the checks the mutant names). " if claimed_only else
                "(every check that applies to the class, its first such case). ")
             + "`-`: the defect does not apply to that class.", "",
             "| Mutant | Defect | " + " | ".join(SHORT.get(c, c) for c in classes) + " |",
             "|---|---|" + "---|" * len(classes)]
    for name, m in results.items():
        cells = _mutant_cells(m, classes, _checks, "already in transformers (manifest)")
        lines.append(f"| {name} | {m['defect']} | " + " | ".join(cells) + " |")
    lines.append("")
    gaps = [f"{n} on {c}" for n, m in results.items() for c in classes
            if c in m["classes"] and not m["already_in_library"] and not m["classes"][c]["killed"]]
    if gaps:
        lines += [f"Not caught: {', '.join(gaps)}.", ""]
    from real_path import FAILS_UNMUTATED, NOT_OFFERED

    if classes_info:
        killed = {k for m in results.values() for c in m["classes"].values() for k in c["killed"]}
        applicable = {k for c in classes_info.values() for k in c["applicable"]}
        passing = {k for c in classes_info.values() for k in c["passing"]}
        untried = sorted(passing - killed)
        never = sorted(k for k in applicable - passing if k.split(".")[0] not in FAILS_UNMUTATED)
        lines += [f"Checks that pass on some unmutated class but no mutant trips: {_checks(untried) or 'none'}. "
                  f"Checks that fail on every unmutated class (real defects: no injected one can be told apart): "
                  f"{_checks(never) or 'none'}.", ""]
    lines += ["Families without a real-path mutant: "
              + "; ".join(f"`{f}` fails on every unmutated class ({why})" for f, (_, why) in FAILS_UNMUTATED.items())
              + "; not offered by the transformers adapter: "
              + "; ".join(f"`{f}` ({why})" for f, why in NOT_OFFERED.items()) + ".", ""]
    lines += ["**Defects found in transformers** (`manifests/transformers.toml`, one row per defect: an entry that "
              "continues the one above it joins its row; classes: "
              f"the classes with a failing case the entry matches in the certify report, TensorFlow "
              f"{versions.get('tensorflow', '?')}):", "",
              "| Root cause | Checks | Classes |", "|---|---|---|"]
    for row in rows:
        checks = ", ".join(f"`{c}`" for c in row["checks"]) if len(row["checks"]) <= 3 else \
            f"{len(row['checks'])} checks in " + ", ".join(sorted({c.split('.')[0] for c in row["checks"]}))
        count = len(row["classes"]) if row["in_report"] else "not in this report"
        lines.append(f"| {_root_cause(row['reason'])} | {checks} | {count} |")
    if any(not row["in_report"] for row in rows):
        lines += ["", "*not in this report*: the certify report (`--report`) did not run the cases the entry lists "
                  "(it predates the entry or the capability behind them)."]
    return "\n".join(lines) + "\n"


def _where(reason):
    """The file and function a manifest reason starts with (``models/t5/modeling_tf_t5.py TFT5Model``)."""
    text = " ".join(reason.split())
    match = re.search(r"([\w/]+\.py(?: [A-Za-z_][\w.]*)?)", text)
    return match.group(1).rstrip(".") if match else _root_cause(text)[:80]


def _what(reason, where, width=110):
    """The words of a manifest reason after the place it names, cut to ``width`` characters."""
    text = " ".join(reason.split())
    if text.startswith(where):
        text = text[len(where):].lstrip(" :,;)")
    elif where in text:  # "Same root cause as ... (file.py Function ...)": what comes before it
        text = text.split(where, 1)[0].rstrip(" (:,;")
    return _cut(text.replace("|", "\\|"), width)


def render_summary(results, rows, versions, details, command):
    """The README's short form: mutant x class -> the check families that caught it; defects -> class counts."""
    classes = _classes(results)
    pairs = [(n, c) for n, m in results.items() for c in m["classes"] if not m["already_in_library"]]
    caught = [(n, c) for n, c in pairs if results[n]["classes"][c]["killed"]]
    lines = [f"<!-- generated by `{command}`: do not edit by hand -->", "",
             f"**Injected defects** (`tests/real_mutants.py`): {len(results)} defects injected into transformers' "
             f"own resize, run on real classes: {len(caught)} of {len(pairs)} mutant x class pairs caught. "
             f"Each cell names the check families that reported it ({details} has the checks):", "",
             "| Mutant | " + " | ".join(SHORT.get(c, c) for c in classes) + " |", "|---|" + "---|" * len(classes)]
    def killed_families(killed):
        return ", ".join(sorted({k.split(".")[0] for k in killed}))

    for name, m in results.items():
        lines.append(f"| {name} | " + " | ".join(_mutant_cells(m, classes, killed_families, "in transformers")) + " |")
    defects = []  # one per defect: a row that names another entry's root cause joins that entry's row
    for row in rows:
        where = _where(row["reason"])
        families = {"every check" if c == "*" else c.split(".")[0] for c in row["checks"]}
        same = [d for d in defects if d["where"] == where or d["where"].startswith(where + " ")] \
            if SAME_AS.match(row["reason"]) else []
        named = re.search(r"the ([a-z_]+)\.[\w*]+ entry", row["reason"])  # "Same root cause as the dtype.* entry"
        same = ([d for d in same if named and named.group(1) in d["families"]]
                or [d for d in same if d["families"] & families] or same)[-1:]  # else the latest of the same checks
        if not same:
            same = [{"where": where, "what": _what(row["reason"], where), "classes": set(), "families": set(),
                     "in_report": False}]
            defects.append(same[0])
        same[0]["classes"].update(row["classes"])
        same[0]["families"].update(families)
        same[0]["in_report"] |= row["in_report"]
    lines += ["", f"**Defects found in transformers {versions.get('transformers', '?')}** "
              f"(`manifests/transformers.toml`, each by the file and function at fault; classes: those with a "
              f"failing case in the committed certify-all, TensorFlow {versions.get('tensorflow', '?')}):", "",
              "| Where | Defect | Check families | Classes |", "|---|---|---|---|"]
    for d in sorted(defects, key=lambda d: (-len(d["classes"]), d["where"])):
        count = len(d["classes"]) if d["in_report"] else "not in the report"
        lines.append(f"| `{d['where']}` | {d['what']} | {', '.join(sorted(d['families']))} | {count} |")
    classes_hit = set().union(*(d["classes"] for d in defects))
    lines += ["", f"{len(defects)} defects, {len(classes_hit)} classes with at least one."]
    return "\n".join(lines) + "\n"


def write_readme(path, text, start=START, end=END):
    with open(path, encoding="utf-8") as fh:
        readme = fh.read()
    if start not in readme or end not in readme:
        raise SystemExit(f"{path}: no {start} ... {end} markers to replace")
    head, rest = readme.split(start, 1)
    _, tail = rest.split(end, 1)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(f"{head}{start}\n{text}{end}{tail}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--report", default=os.path.join(ROOT, "reports", "2.21", "transformers", "report.json.gz"))
    ap.add_argument("--manifest", default=os.path.join(ROOT, "manifests", "transformers.toml"))
    ap.add_argument("--claimed", action="store_true", help="run only the checks each mutant names (faster)")
    ap.add_argument("--class", dest="classes", action="append", default=[], help="only this class (repeatable)")
    ap.add_argument("--results", help="write the raw mutant results (JSON) here")
    ap.add_argument("--from-results", help="render from a results JSON instead of running the catalogue")
    ap.add_argument("--readme", help="replace the generated section of this file (docs/transformers.md) instead of printing")
    ap.add_argument("--summary", help="also replace the short summary section of this file (README.md)")
    args = ap.parse_args(argv)
    if args.from_results:
        with open(args.from_results, encoding="utf-8") as fh:
            saved = json.load(fh)
        results, claimed, info = saved["mutants"], saved["claimed_only"], saved.get("classes")
    else:
        (results, info), claimed = run_catalogue(args.claimed, args.classes), args.claimed
        if args.results:
            with open(args.results, "w", encoding="utf-8") as fh:
                json.dump({"claimed_only": claimed, "mutants": results, "classes": info}, fh, indent=1)
    rows, versions = defect_rows(args.manifest, args.report)
    command = ("python scripts/catch_table.py" + (" --claimed" if claimed else "") + " --readme docs/transformers.md"
               + (f" --summary {os.path.basename(args.summary)}" if args.summary else ""))
    text = render(results, rows, versions, claimed, command, info)
    if args.summary:
        details = "[docs/transformers.md](docs/transformers.md#what-the-suite-catches)"
        write_readme(args.summary, render_summary(results, rows, versions, details, command),
                     SUMMARY_START, SUMMARY_END)
    if args.readme:
        write_readme(args.readme, text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
