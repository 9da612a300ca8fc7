"""Render a report dict as Markdown (``report.md``) for a reader who never saw the code."""

import json

from harness.results import STATUSES, SYMBOLS, classes_line, family_counts, group_ids, manifest_reason, worst

MAX_JSON = 600          # characters of expected/observed shown
MAX_TRACEBACK = 3000    # characters of a traceback shown (its end)
MAX_NA_IDS = 8          # case ids listed per not-applicable reason
LABELS = {"not_applicable": "not applicable"}
KEY_DETAILS = ("max_abs_diff", "tolerance", "atol", "rtol", "mismatches", "first_mismatch", "strict",
               "profile")


def _cell(value):
    """A table cell: one line, ``|`` escaped."""
    return " ".join(str(value).split()).replace("|", "\\|")


def _text(value):
    """Free text outside code: no raw HTML, no accidental emphasis."""
    s = str(value)
    for ch in ("\\", "*", "_", "`"):
        s = s.replace(ch, "\\" + ch)
    return s.replace("<", "&lt;").replace(">", "&gt;")


def _code(value):
    """An inline code span that survives backticks in ``value``."""
    s = " ".join(str(value).split())
    fence = "``" if "`" in s else "`"
    return f"{fence} {s} {fence}" if fence == "``" else f"`{s}`"


def _json(value, limit=MAX_JSON):
    s = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    return s if len(s) <= limit else s[:limit - 3] + "..."


def _table(header, rows):
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |",
             "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _header(report):
    run = report["run"]
    adapter = run["adapter"]
    versions = run.get("versions") or {}
    title = f"# Resize conformance report: {adapter.get('name')}"
    if report.get("partial"):
        title += " (partial: the run did not finish)"
    out = [title, ""]
    spec = adapter.get("spec")
    out.append(f"- **Adapter:** {_code(adapter.get('name'))} ({_code(adapter.get('class'))})"
               + (f", selected as {_code(spec)}" if spec and spec != adapter.get("name") else ""))
    shown = ", ".join(f"{k} {v}" for k, v in versions.items() if v and k != "platform")
    out.append(f"- **Versions:** {_text(shown)}"
               + (f" on {_text(versions['platform'])}" if versions.get("platform") else ""))
    opts = run.get("options") or {}
    select = ", ".join(opts.get("select") or []) or "all checks"
    timeout = opts.get("timeout_s")
    out.append(f"- **Options:** seed {run.get('seed')}, hypothesis profile {_text(opts.get('profile'))}, "
               f"timeout {timeout:g}s per case, selection: {_text(select)}"
               if isinstance(timeout, (int, float)) else
               f"- **Options:** seed {run.get('seed')}, profile {_text(opts.get('profile'))}, selection: {_text(select)}")
    if opts.get("expected_failures"):
        out.append(f"- **Expected failures from:** {_code(opts['expected_failures'])}")
    out.append(f"- **Time:** started {run.get('started_at')}, finished {run.get('finished_at') or 'not finished'} "
               f"({run.get('duration_s', 0):.1f}s)")
    caps = adapter.get("capabilities") or {}
    out.append("- **Capabilities:** " + "; ".join(
        f"{_text(k)}: {', '.join(_code(x) for x in v) or 'none'}" for k, v in caps.items()))
    if run.get("timing"):
        out.append("- **Timing:** " + ", ".join(f"{_text(k)} {v}" for k, v in run["timing"].items()))
    if run.get("command"):
        out.append(f"- **Command:** {_code(run['command'])}")
    return out + [""]


def _summary(report):
    s = report["summary"]
    verdict = "**PASS**" if s["gate"] == "pass" else "**FAIL**"
    out = ["## Summary", "", f"Gate: {verdict}"]
    out += [f"- {_text(r)}" for r in s.get("gate_reasons", [])]
    out += ["", *_table(["status", "cases"], [[LABELS.get(k, k), s["counts"][k]] for k in STATUSES]), ""]
    out.append(f"Collected {s['collected']} of {s['expected']} expected cases "
               f"({s['total']} planned; {s['counts']['not_applicable']} not applicable to this adapter).")
    return out + [""]


def _families(report):
    fams = family_counts(report["cases"])
    if not fams:
        return []
    rows = [[fam] + [c[k] for k in STATUSES] for fam, c in fams]
    return ["## By family", "", *_table(["family"] + [LABELS.get(k, k) for k in STATUSES], rows), ""]


def _subjects(report):
    """Certify reports: one row per subject (class) with its counts, and the class x family matrix."""
    mx = report.get("matrix")
    if not mx:
        return []
    rows = mx["subjects"]
    out = ["## Classes", "", classes_line(rows, LABELS), ""]
    header = ["class", "status", "passed", "failed", "error", "xfailed", "xpassed", "skipped", "n/a", "time (s)",
              "note"]
    table = []
    for r in rows:
        c = r.get("counts") or {}
        table.append([r["name"], LABELS.get(r["status"], r["status"]), *(c.get(k, 0) for k in STATUSES),
                      f"{r.get('duration_s') or 0:.1f}", r.get("reason") or "; ".join(r.get("gate_reasons") or [])])
    out += _table(header, table) + [""]
    families = sorted({chk.split(".", 1)[0] for chk in mx.get("checks", [])})
    out += ["## Compliance matrix (class x check family)", "",
            "Worst status of the family's cases for each class: " + ", ".join(
                f"{v} {LABELS.get(k, k)}" for k, v in SYMBOLS.items()) + ". The JSON report has every "
            "class x check cell (`matrix.subjects[].cells`) and every case.", ""]
    grid = []
    for r in rows:
        by_family = {}
        for chk, status in (r.get("cells") or {}).items():
            by_family.setdefault(chk.split(".", 1)[0], []).append(status)
        grid.append([r["name"]] + [SYMBOLS[worst(by_family.get(f, ()))] for f in families])
    lines = _table(["class"] + families, grid)
    lines[1] = "|---|" + "|".join(":---:" for _ in families) + "|"
    return out + lines + [""]


def _detail_lines(details):
    out = []
    for key in KEY_DETAILS:
        if key in details:
            value = details[key]
            shown = value if isinstance(value, str) else _json(value)
            out.append(f"- {key.replace('_', ' ')}: {_code(shown)}")
    if "falsifying_params" in details:
        out.append(f"- falsifying params (minimal example found by hypothesis): "
                   f"{_code(_json(details['falsifying_params']))}")
    notes = details.get("hypothesis_notes")
    if notes:
        body = [line for note in notes for line in str(note).splitlines()]
        out += ["- hypothesis notes:", "", "  ```text", *(("  " + line).rstrip() for line in body), "  ```"]
    tb = details.get("traceback")
    if tb:
        tb = tb if len(tb) <= MAX_TRACEBACK else "...\n" + tb[-MAX_TRACEBACK:]
        out += ["", "<details><summary>traceback</summary>", "", "```text", tb.rstrip("\n"), "```", "",
                "</details>"]
    return out


def _failures(report, properties):
    bad = [c for c in report["cases"] if c["status"] in ("failed", "error")]
    if not bad:
        return []
    out = ["## Failures and errors", ""]
    for case in bad:
        out.append(f"### {case['status'].upper()}: `{case['id']}`")
        out.append("")
        prop = properties.get(case["check"])
        if prop:
            out.append(f"Property ({_code(case['check'])}): {_text(prop)}")
            out.append("")
        out.append(f"- message: {_text(case.get('message') or '(none)')}")
        if case.get("params") is not None:
            out.append(f"- params: {_code(_json(case['params']))}")
        if "expected" in case:
            out.append(f"- expected: {_code(_json(case['expected']))}")
        if "observed" in case:
            out.append(f"- observed: {_code(_json(case['observed']))}")
        if case.get("seed") is not None:
            out.append(f"- seed: {case['seed']}")
        out += _detail_lines(case.get("details") or {})
        if case.get("reproduce"):
            out += ["", "Reproduce:", "", "```sh", case["reproduce"], "```"]
        out.append("")
    return out


def _simple_list(report, status, title):
    cases = [c for c in report["cases"] if c["status"] == status]
    if not cases:
        return []
    return [f"## {title}", "", *(f"- `{c['id']}`: {_text(c.get('message') or '')}" for c in cases), ""]


def _grouped(report, status, title, key=None):
    groups = group_ids(report["cases"], status, key)
    if not groups:
        return []
    out = [f"## {title}", ""]
    for reason, ids in groups:
        shown = ", ".join(f"`{i}`" for i in ids[:MAX_NA_IDS])
        more = f" and {len(ids) - MAX_NA_IDS} more" if len(ids) > MAX_NA_IDS else ""
        out.append(f"- {_text(reason)} ({len(ids)}): {shown}{more}")
    return out + [""]


def render_markdown(report):
    """The Markdown text of ``report`` (a dict matching report.schema.json)."""
    properties = {c["id"]: c["property"] for c in report.get("checks", [])}
    lines = (_header(report) + _summary(report) + _subjects(report) + _families(report)
             + _failures(report, properties)
             + _simple_list(report, "xpassed", "Unexpected passes (xpassed)")
             + (_grouped(report, "xfailed", "Expected failures (xfailed), by manifest reason", manifest_reason)
                if report.get("matrix") else _simple_list(report, "xfailed", "Expected failures (xfailed)"))
             + _grouped(report, "skipped", "Skipped")
             + _grouped(report, "not_applicable", "Not applicable"))
    return "\n".join(lines).rstrip("\n") + "\n"
