"""Compare report.json files: regressions, fixes, new/removed cases and checks, changed
messages, stale expected failures, with the runs' versions side by side; and a
check x run matrix over many reports (adapter x check x TensorFlow version).

``diff_reports(old, new)`` and ``matrix(reports)`` return plain dicts; ``render_diff_markdown``
and ``render_matrix_markdown`` write Markdown; ``harness.report.html`` renders the same as HTML.
"""

import re

from harness.results import STATUSES

FAILING = ("failed", "error")
MAX_MESSAGE = 300
MAX_LISTED = 30  # longer lists of new/removed cases are summarised per check
VERSION_KEYS = ("tensorflow", "tf_keras", "keras", "transformers", "keras_hub", "numpy", "python", "hypothesis", "harness",
                "platform")
SECTIONS = (
    ("regressions", "Regressions", "regression", "Cases that passed before and fail or error now.",
     ("case", "before", "now", "message now")),
    ("fixes", "Fixes", "fixed", "Cases that failed or errored before and pass now.",
     ("case", "before", "now", "message before")),
    ("stale_xfails", "Stale expected failures", "stale",
     "Known defects that failed before (xfailed) and pass now (xpassed): the defect is gone, so remove "
     "the entry from the expected-failures list.", ("case", "before", "now", "message now")),
    ("changed_messages", "Changed messages", "changed",
     "Cases with the same (non-passing) status whose message changed, e.g. a different mismatch.",
     ("case", "status", "message before", "message now")),
    ("other_changes", "Other status changes", "changed",
     "Any other change of status, e.g. passed to not applicable (coverage lost) or failed to error.",
     ("case", "before", "now", "message now")),
    ("new_cases", "New cases", "na", "Cases only in the new run.", ("case", "status", "message")),
    ("removed_cases", "Removed cases", "na", "Cases only in the old run.", ("case", "status", "message")),
    ("new_checks", "New checks", "na", "Checks only in the new run.", ("check", "property")),
    ("removed_checks", "Removed checks", "na", "Checks only in the old run.", ("check", "property")),
)


def _short(text, limit=MAX_MESSAGE):
    s = " ".join(str(text or "").split())
    return s if len(s) <= limit else s[:limit - 3] + "..."


_ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")


def _same_message(a, b):
    """Messages equal once object addresses (``at 0x7f...``, different in every process) are masked."""
    return _ADDRESS.sub("0x?", _short(a)) == _ADDRESS.sub("0x?", _short(b))


def _version_key(text):
    return tuple(int(x) for x in re.findall(r"\d+", text or "")) or (10**9,)


def _version(report, package):
    """``package``'s version in a run (the requested one when the environment could not run)."""
    found = (report["run"].get("versions") or {}).get(package)
    if found:
        return found
    requested = (report.get("environment_error") or {}).get("requested") or {}
    return (requested.get(package) or "").rstrip(".*") or None


def tf_version(report):
    return _version(report, "tensorflow")


def transformers_version(report):
    return _version(report, "transformers")


def run_info(report, path=None):
    run = report["run"]
    adapter = run["adapter"].get("name") or run["adapter"].get("spec")
    tf = tf_version(report)
    column = f"TF {tf or '?'}"
    tx = transformers_version(report) if str(adapter).startswith("transformers") else None
    if tx:  # the transformers axis of the matrix: which line the classes ran under
        column += f", transformers {tx}"
    return {"label": f"{adapter} @ {column}", "column": column, "adapter": adapter,
            "tensorflow": tf, "transformers": tx, "path": str(path) if path else "", "gate": report["summary"]["gate"],
            "counts": report["summary"]["counts"], "versions": dict(run.get("versions") or {}),
            "environment_error": report.get("environment_error")}


def _unique_labels(infos):
    seen = {}
    for info in infos:
        seen[info["label"]] = seen.get(info["label"], 0) + 1
    for info in infos:
        if seen[info["label"]] > 1 and info["path"]:
            info["label"] += f" ({info['path']})"
            info["column"] += f" ({info['path']})"
    return infos


def diff_reports(old, new, old_path=None, new_path=None):
    """Everything that changed from run ``old`` to run ``new`` (report dicts)."""
    a, b = _unique_labels([run_info(old, old_path), run_info(new, new_path)])
    out = {"old": a, "new": b, "comparable": True, "note": ""}
    va, vb = a["versions"], b["versions"]
    out["versions"] = [(k, va.get(k), vb.get(k), va.get(k) != vb.get(k)) for k in VERSION_KEYS]
    out["counts"] = [(s, a["counts"].get(s, 0), b["counts"].get(s, 0)) for s in STATUSES]
    items = {key: [] for key, *_ in SECTIONS}
    broken = [x for x in (a, b) if x["environment_error"]]
    if broken:
        out["comparable"] = False
        out["note"] = "Cannot compare cases: " + "; ".join(
            f"{x['label']} did not run (environment error at {x['environment_error']['stage']}: "
            f"{_short(x['environment_error']['message'], 200)})" for x in broken)
    else:
        _compare_cases(old, new, items)
    out["sections"] = []
    for key, title, css, explain, header in SECTIONS:
        rows = items[key]
        if key in ("new_cases", "removed_cases") and len(rows) > MAX_LISTED:
            rows, header = _per_check(rows), ("check", "cases", "statuses")
            explain += f" ({len(items[key])} cases, summarised per check.)"
        out["sections"].append({"key": key, "title": title, "css": css, "explain": explain, "header": header,
                                "rows": rows, "count": len(items[key])})
    out["regressions"] = len(items["regressions"])
    return out


def _per_check(rows):
    """``(check, n cases, "status: n, ...")`` rows for a long list of ``(case id, status, message)``."""
    by_check = {}
    for cid, status, _ in rows:
        by_check.setdefault(cid.split("[", 1)[0], []).append(status)
    return [(chk, len(st), ", ".join(f"{s}: {st.count(s)}" for s in STATUSES if s in st))
            for chk, st in sorted(by_check.items())]


def _compare_cases(old, new, items):
    before = {c["id"]: c for c in old["cases"]}
    now = {c["id"]: c for c in new["cases"]}
    for cid in sorted(set(before) | set(now)):
        o, n = before.get(cid), now.get(cid)
        if o is None:
            items["new_cases"].append((cid, n["status"], _short(n["message"])))
            continue
        if n is None:
            items["removed_cases"].append((cid, o["status"], _short(o["message"])))
            continue
        so, sn = o["status"], n["status"]
        if so in ("passed", "xpassed") and sn in FAILING:
            items["regressions"].append((cid, so, sn, _short(n["message"])))
        elif so in FAILING and sn == "passed":
            items["fixes"].append((cid, so, sn, _short(o["message"])))
        elif so == "xfailed" and sn == "xpassed":
            items["stale_xfails"].append((cid, so, sn, _short(n["message"])))
        elif so == sn:
            if so != "passed" and not _same_message(o["message"], n["message"]):
                items["changed_messages"].append((cid, so, _short(o["message"]), _short(n["message"])))
        else:
            items["other_changes"].append((cid, so, sn, _short(n["message"])))
    props_old = {c["id"]: c["property"] for c in old.get("checks", [])}
    props_new = {c["id"]: c["property"] for c in new.get("checks", [])}
    checks_old = set(props_old) | {c["check"] for c in old["cases"]}
    checks_new = set(props_new) | {c["check"] for c in new["cases"]}
    items["new_checks"] = [(c, _short(props_new.get(c, ""))) for c in sorted(checks_new - checks_old)]
    items["removed_checks"] = [(c, _short(props_old.get(c, ""))) for c in sorted(checks_old - checks_new)]


# -- matrix ------------------------------------------------------------------------------
def _cell(cases, env_error):
    if env_error:
        return {"css": "envfail", "text": "env error", "title": _short(env_error.get("message"), 200)}
    if not cases:
        return {"css": "absent", "text": "\u2014", "title": "not in this run"}
    statuses = [c["status"] for c in cases]
    bad = [c["id"] for c in cases if c["status"] in FAILING]
    ran = [s for s in statuses if s not in ("not_applicable", "skipped")]
    if bad:
        return {"css": "fail", "text": f"fail {len(bad)}/{len(ran)}", "title": ", ".join(bad)[:1000]}
    for status, css, text in (("xpassed", "xpass", "xpass"), ("xfailed", "xfail", "xfail")):
        if status in statuses:
            return {"css": css, "text": text, "title": ", ".join(c["id"] for c in cases if c["status"] == status)}
    if "passed" in statuses:
        return {"css": "pass", "text": f"pass {statuses.count('passed')}", "title": f"{statuses.count('passed')} passed"}
    if all(s == "not_applicable" for s in statuses):
        return {"css": "na", "text": "n/a", "title": _short(cases[0]["message"], 200)}
    return {"css": "skipped", "text": "skipped", "title": _short(cases[0]["message"], 200)}


def matrix(reports, paths=None):
    """``{"runs", "groups", "rows", "diffs", "regressions"}`` over ``reports``: runs grouped by adapter
    and sorted by TensorFlow version; ``diffs`` compare consecutive runs of the same adapter."""
    paths = list(paths or [None] * len(reports))
    infos = _unique_labels([run_info(r, p) for r, p in zip(reports, paths)])
    order = sorted(range(len(reports)), key=lambda i: (infos[i]["adapter"], _version_key(infos[i]["tensorflow"]),
                                                       _version_key(infos[i]["transformers"])))
    groups = []
    for i in order:
        if not groups or groups[-1]["adapter"] != infos[i]["adapter"]:
            groups.append({"adapter": infos[i]["adapter"], "runs": [], "index": []})
        groups[-1]["runs"].append(infos[i])
        groups[-1]["index"].append(i)
    checks = sorted({c["check"] for r in reports for c in r["cases"]} | {c["id"] for r in reports for c in r["checks"]})
    by_run = []
    for r in reports:
        cases = {}
        for c in r["cases"]:
            cases.setdefault(c["check"], []).append(c)
        by_run.append(cases)
    rows = [{"check": chk, "cells": [_cell(by_run[i].get(chk), reports[i].get("environment_error"))
                                     for g in groups for i in g["index"]]} for chk in checks]
    diffs = [diff_reports(reports[a], reports[b], paths[a], paths[b])
             for g in groups for a, b in zip(g["index"], g["index"][1:])]
    return {"runs": [infos[i] for i in order], "groups": groups, "rows": rows, "diffs": diffs,
            "regressions": sum(d["regressions"] for d in diffs)}


# -- Markdown ----------------------------------------------------------------------------
def _md(value):
    s = " ".join(str("-" if value is None else value).split())
    return s.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _table(header, rows):
    out = ["| " + " | ".join(_md(h) for h in header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(_md(v) for v in row) + " |" for row in rows]
    return out


def _tally(diff):
    parts = [f"{s['count']} {s['title'].lower()}" for s in diff["sections"] if s["count"]]
    return ", ".join(parts) or "no change in any case"


def _diff_body(diff, level="##"):
    a, b = diff["old"], diff["new"]
    out = [f"{level} {_md(a['label'])} \u2192 {_md(b['label'])}", ""]
    if not diff["comparable"]:
        out += [f"**{_md(diff['note'])}**", ""]
    out += [f"**{diff['regressions']} regression(s).** {_md(_tally(diff))}.", ""]
    rows = [(k, x, y) for k, x, y, _ in diff["versions"]]
    rows += [(f"{s} cases", x, y) for s, x, y in diff["counts"]] + [("gate", a["gate"], b["gate"])]
    rows += [("report", a["path"] or "-", b["path"] or "-")]
    out += _table(["", "before", "now"], [(k, x, y) for k, x, y in rows]) + [""]
    for s in diff["sections"]:
        if not s['rows']:
            continue
        out += [f"{level}# {s['title']} ({s['count']})", "", s["explain"], ""]
        out += _table(s["header"], s['rows']) + [""]
    return out


INTRO = ("This page compares conformance runs of vocabulary-resize implementations. A *case* is one "
         "check (a property such as 'growing keeps old rows bit-identical') run with one set of parameters; "
         "each case passes, fails, errors, or does not apply to the adapter (the model under test).")


def render_diff_markdown(diff):
    lines = ["# Regression report", "", INTRO, ""] + _diff_body(diff)
    return "\n".join(lines).rstrip() + "\n"


def render_matrix_markdown(mx):
    lines = ["# Regression report: version matrix", "", INTRO, "", "## Runs", ""]
    lines += _table(["run", "TensorFlow", "tf-keras", "transformers", "gate", "passed", "failed", "error",
                     "not applicable", "report"],
                    [(r["label"], r["versions"].get("tensorflow"), r["versions"].get("tf_keras"),
                      r["versions"].get("transformers"),
                      f"environment error: {r['environment_error']['message']}" if r["environment_error"] else r["gate"],
                      r["counts"]["passed"], r["counts"]["failed"], r["counts"]["error"],
                      r["counts"]["not_applicable"], r["path"]) for r in mx["runs"]]) + [""]
    lines += ["## Check matrix", "",
              "Cells: `pass N` (N cases passed), `fail k/n` (k of n cases that ran failed or errored), "
              "`xfail`/`xpass` (known defect failed/passed), `n/a` (not applicable), `\u2014` (not in the run).", ""]
    header = ["check"] + [f"{g['adapter']} {r['column']}" for g in mx["groups"] for r in g["runs"]]
    lines += _table(header, [[row["check"]] + [c["text"] for c in row["cells"]] for row in mx["rows"]]) + [""]
    if not mx["diffs"]:
        lines += ["No two runs of the same adapter to compare.", ""]
    for diff in mx["diffs"]:
        lines += _diff_body(diff)
    return "\n".join(lines).rstrip() + "\n"
