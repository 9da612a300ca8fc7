"""Self-contained HTML (inline CSS, no scripts or external assets) for a report, and for a
check x run matrix of several reports with their regression diffs.

Rendered with jinja2 and autoescape on: every string from a report (adapter names, messages,
params, tracebacks) is escaped.
"""

import functools
import json
import os

from harness.results import STATUSES, SYMBOLS, classes_line, family_counts, group_ids, manifest_reason

TEMPLATES = os.path.join(os.path.dirname(__file__), "templates")
LABELS = {"not_applicable": "not applicable"}
MAX_JSON = 2000
MAX_NA_IDS = 12


@functools.lru_cache(maxsize=1)
def _env():
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.ChainableUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["tojson_text"] = _json_text
    return env


def _json_text(value, indent=None):
    """JSON text of ``value`` (escaped later by autoescape), cut at MAX_JSON characters."""
    if isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, indent=indent, ensure_ascii=False, default=str, sort_keys=True)
    return text if len(text) <= MAX_JSON else text[:MAX_JSON - 3] + "..."


def _version():
    try:
        from harness import __version__

        return __version__
    except Exception:  # noqa: BLE001
        return ""


def _grouped(cases, status, key=None):
    out = []
    for reason, ids in group_ids(cases, status, key):
        shown = ids[:MAX_NA_IDS] + ([f"... and {len(ids) - MAX_NA_IDS} more"] if len(ids) > MAX_NA_IDS else [])
        out.append((reason, shown, len(ids)))
    return out


def render_html(report):
    """The HTML page of one report (a dict matching report.schema.json)."""
    run = report["run"]
    cases = report.get("cases", [])
    return _env().get_template("report.html.j2").render(
        report=report, run=run, adapter=run["adapter"], summary=report["summary"],
        versions=list((run.get("versions") or {}).items()), statuses=STATUSES, labels=LABELS,
        families=family_counts(cases), cases=cases,
        properties={c["id"]: c["property"] for c in report.get("checks", [])},
        bad=[c for c in cases if c["status"] in ("failed", "error")],
        # an aggregate report's expected failures, one line per manifest reason (thousands of cases)
        xfailed_grouped=_grouped(cases, "xfailed", manifest_reason) if report.get("matrix") else None,
        grouped=[("Skipped", _grouped(cases, "skipped")), ("Not applicable", _grouped(cases, "not_applicable"))],
        classes_line=classes_line(report["matrix"]["subjects"], LABELS) if report.get("matrix") else "",
        env_error=report.get("environment_error"), harness_version=_version(), matrix=report.get("matrix"),
        symbols=SYMBOLS)


def render_matrix_html(reports, paths=None, *, title="Regression report: version matrix", mx=None):
    """The HTML page of the adapter x check x version matrix of ``reports`` and the diffs between
    consecutive runs of each adapter (see ``harness.report.diff.matrix``)."""
    from harness.report.diff import INTRO, matrix

    mx = mx if mx is not None else matrix(reports, paths)
    return _env().get_template("matrix.html.j2").render(
        title=title, intro=INTRO, runs=mx["runs"], groups=mx["groups"], rows=mx["rows"], diffs=mx["diffs"],
        harness_version=_version())
