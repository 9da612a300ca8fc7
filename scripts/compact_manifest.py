"""Rewrite a manifest's spelled-out ``cases`` lists as short case-id globs, deciding exactly the same.

    python scripts/compact_manifest.py manifests/transformers.toml CERTIFY_REPORT_DIR [--write]

CERTIFY_REPORT_DIR is a certify-all report directory (``classes/<Class>/report.json``) or a merged
``report.json(.gz)``: its case ids are the universe. For every entry with ``cases``, and every check
in it, the listed ids are replaced by the fewest globs (``check[*]``; ``check[*=*]``, every example
case but not ``check[property]``; or one that pins one or two parameters, e.g.
``grow.shape[*,tie=untied,*]``) that match exactly the listed ids among the cases of that check
in the classes the entry applies to; ids no glob can separate stay spelled out, and
ids that no class report holds are dropped (reported). The rewrite is then checked: for every class
and case, the first matching entry (reason and strictness, as ``certify --resume`` digests them) is
the same as before, else nothing is written. Only the ``cases = [...]`` arrays change.
"""

import argparse
import itertools
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # validating a manifest loads the suites, so TensorFlow
from harness import manifest
from harness.certify import class_reports, xfails_digest
from harness.report import load_report

_CASES_RE = re.compile(r"^cases = \[", re.MULTILINE)


def cases_spans(text):
    """``(start, end)`` of every top-level ``cases = [...]`` array (and its newline) in ``text``."""
    spans = []
    for m in _CASES_RE.finditer(text):
        i, depth, in_str = m.end(), 1, False
        while depth:
            ch = text[i]
            if in_str:
                in_str = ch != '"' or text[i - 1] == "\\"
            elif ch == '"':
                in_str = True
            elif ch == "[":
                depth += 1
            elif ch == "]":
                depth -= 1
            i += 1
        spans.append((m.start(), i + (text[i] == "\n")))
    return spans


def load_universe(path):
    """``{class name: {(case id, check id), ...}}`` from a certify report dir or a merged report."""
    if os.path.isdir(path):
        return {name: {(c["id"], c["check"]) for c in rep["cases"]} for name, rep in class_reports(path)}
    rep = load_report(path)
    out = {}
    for case in rep["cases"]:
        out.setdefault(case["subject"], set()).add((case["id"], case["check"]))
    return out


def _segments(case_id):
    """``[(name, value), ...]`` in id order, or None for a property case."""
    inner = case_id.partition("[")[2].rpartition("]")[0]
    params = manifest.case_params(case_id)
    return list(params.items()) if params and "=" in inner else None


def _glob(check, names, pins):
    """A glob on ``check``'s case ids (parameter ``names`` in id order) pinning ``pins`` {name: value}."""
    out, prev_pinned, any_pinned = check + "[", False, False
    for i, name in enumerate(names):
        if name in pins:
            gap = "," if prev_pinned else ",*," if any_pinned else "*,"
            out += ("" if i == 0 else gap) + f"{name}={pins[name]}"
            any_pinned = True
        prev_pinned = name in pins
    return out + ("]" if prev_pinned else ",*]" if any_pinned else "*]")


def cover(check, listed, universe):
    """The fewest globs (then leftover ids) matching exactly ``listed`` among ``universe``."""
    listed, universe = set(listed), set(universe)
    if listed == universe:
        return [f"{check}[*]"]
    if listed == {c for c in universe if _segments(c)}:
        return [f"{check}[*=*]"]  # every example case, not the property case
    examples = [c for c in listed if _segments(c)]
    names = None
    for c in universe:
        seg = _segments(c)
        if seg is not None:
            these = [n for n, _ in seg]
            if names is None:
                names = these
            elif names != these:
                names = False
                break
    candidates = []
    if names and examples:
        values = {n: sorted({manifest.case_params(c)[n] for c in examples}) for n in names}
        for k in (1, 2):
            for combo in itertools.combinations(names, k):
                for vals in itertools.product(*(values[n] for n in combo)):
                    g = _glob(check, names, dict(zip(combo, vals)))
                    hit = {c for c in universe if manifest.case_glob_matches(g, c)}
                    if hit and hit <= listed:
                        candidates.append((g, hit))
    out, left = [], set(listed)
    while left:
        best = max(candidates, key=lambda gh: (len(gh[1] & left), -len(gh[0])), default=None)
        if best is None or len(best[1] & left) < 2:
            break
        out.append(best[0])
        left -= best[1]
    return out + sorted(left)


def compact_entry(entry, universe):
    """New ``cases`` for one entry, and the listed ids that no class report holds."""
    scope = {cid for cls, cases in universe.items() if entry.applies_to(cls)
             for cid, _ in cases}
    listed = [c for c in entry.cases if "*" not in c and "?" not in c]
    if len(listed) != len(entry.cases):
        return list(entry.cases), []
    if not scope:
        return list(entry.cases), []  # no report of a class it applies to: nothing to judge by
    dead = [c for c in listed if c not in scope]
    by_check = {}
    for c in listed:
        if c in scope:
            by_check.setdefault(c.split("[", 1)[0], set()).add(c)
    new = []
    for check, ids in by_check.items():
        within = {c for c in scope if c.split("[", 1)[0] == check}
        new.extend(cover(check, ids, within))
    if not new:
        raise SystemExit(f"{entry.where()}: none of its cases is in a class report; fix or remove it by hand")
    return new, dead


def decisions(entries, universe):
    return {cls: xfails_digest(manifest.for_class(entries, cls), sorted(cases))
            for cls, cases in universe.items()}


def _toml_list(items):
    return "cases = [\n" + "".join(f"    {json.dumps(c)},\n" for c in items) + "]\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("manifest")
    ap.add_argument("reports")
    ap.add_argument("--write", action="store_true", help="rewrite the manifest in place")
    args = ap.parse_args(argv)
    universe = load_universe(args.reports)
    entries = manifest.load(args.manifest)
    text = open(args.manifest).read()
    blocks = cases_spans(text)
    with_cases = [e for e in entries if e.cases]
    if len(blocks) != len(with_cases):
        sys.exit(f"found {len(blocks)} cases arrays for {len(with_cases)} entries with cases: "
                 "each must start a line with 'cases = ['")
    pieces, pos, dead_total = [], 0, 0
    for entry, block in zip(with_cases, blocks):
        new, dead = compact_entry(entry, universe)
        dead_total += len(dead)
        for d in dead:
            print(f"{entry.where()}: dropped {d} (no class report holds it)", file=sys.stderr)
        pieces.append(text[pos:block[0]])
        pieces.append(_toml_list(new))
        pos = block[1]
    pieces.append(text[pos:])
    new_text = "".join(pieces)
    tmp = args.manifest + ".compact.tmp"
    with open(tmp, "w") as fh:
        fh.write(new_text)
    try:
        before, after = decisions(entries, universe), decisions(manifest.load(tmp), universe)
    finally:
        os.unlink(tmp)
    changed = sorted(c for c in before if before[c] != after[c])
    print(f"{len(text.splitlines())} -> {len(new_text.splitlines())} lines; {len(universe)} classes; "
          f"{dead_total} ids dropped; decisions changed for {len(changed)} classes {changed[:5]}")
    if changed:
        return 1
    if args.write:
        with open(args.manifest, "w") as fh:
            fh.write(new_text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
