"""Build, gate, validate, load and write ``report.json`` (and ``report.md`` beside it)."""

import datetime as _dt
import functools
import json
import math
import os

from harness.report.atomic import write_text_atomic
from harness.results import RAN, STATUSES, count

SCHEMA_VERSION = "1.0"
SCHEMA_PATH = os.path.join(os.path.dirname(__file__), "report.schema.json")
REPORT_JSON = "report.json"
REPORT_MD = "report.md"


# -- JSON safety -----------------------------------------------------------------
def _float(value):
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def to_jsonable(obj):
    """A strict-JSON copy of ``obj``: NumPy/TF values become Python values, NaN/Inf become
    the strings ``"nan"``/``"inf"``/``"-inf"``, tuples/sets become lists, keys become strings."""
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return _float(obj)
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        items = [to_jsonable(v) for v in obj]
        try:
            return sorted(items)
        except TypeError:
            return items
    return to_jsonable(_default(obj))


def _default(obj):
    """``json`` default hook: NumPy scalars/arrays, tensors, bytes, paths, datetimes; else ``str``."""
    if hasattr(obj, "tolist") and callable(obj.tolist):  # numpy arrays and scalars
        try:
            return obj.tolist()
        except Exception:  # noqa: BLE001
            pass
    if hasattr(obj, "numpy") and callable(obj.numpy):  # eager tensors / variables
        try:
            return obj.numpy().tolist()
        except Exception:  # noqa: BLE001
            pass
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "replace")
    if isinstance(obj, (_dt.datetime, _dt.date)):
        return obj.isoformat()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    return str(obj)


def dumps(report):
    """Strict JSON text (indent 2) of ``report``."""
    return json.dumps(to_jsonable(report), indent=2, allow_nan=False, default=_default,
                      ensure_ascii=False) + "\n"


# -- building --------------------------------------------------------------------
def _timestamp(value):
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.astimezone()
    return value.isoformat(timespec="seconds")


def _as_datetime(value):
    if value is None:
        return None
    if isinstance(value, str):
        value = _dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.astimezone()


def case_to_dict(result):
    """One case of the report: the required keys always, optional keys only when set."""
    d = {"id": result.id, "check": result.check, "kind": result.kind, "params": result.params,
         "status": result.status, "message": result.message or "",
         "duration_s": float(result.duration_s or 0.0)}
    for key in ("expected", "observed", "reproduce", "seed"):
        value = getattr(result, key)
        if value is not None:
            d[key] = value
    if result.details:
        d["details"] = dict(result.details)
    return d


def _checks_of(results):
    from harness import checks

    used = {r.check for r in results}
    return [c.to_dict() for c in checks.all_checks() if c.id in used]


def _adapter_info(adapter, adapter_spec, runner):
    try:
        info = dict(adapter.describe())
    except Exception:  # noqa: BLE001 - a broken describe() must not lose the report
        info = {}
    info.setdefault("name", getattr(adapter, "name", None) or str(adapter_spec))
    info.setdefault("class", f"{type(adapter).__module__}:{type(adapter).__qualname__}")
    info["spec"] = str(adapter_spec)
    info["capabilities"] = runner.caps.to_dict()
    return info


def _shrinks(runner):
    phases = getattr(getattr(runner, "profile", None), "phases", None)
    if phases is None:  # a runner in another process (harness.isolation) records the option
        shrink = getattr(runner, "shrink", None)
        return None if shrink is None else bool(shrink)
    return any(getattr(p, "name", "") == "shrink" for p in phases)


def run_block(*, adapter, seed, options, started_at, finished_at, command, versions=None):
    """The report's ``run`` object. ``started_at``/``finished_at`` are datetimes or ISO-8601
    strings; ``finished_at`` is None until the run has finished (the duration then runs to now).
    ``versions`` defaults to ``collect_versions()``."""
    if versions is None:
        from harness.versions import collect_versions

        versions = collect_versions()
    started, finished = _as_datetime(started_at), _as_datetime(finished_at)
    end = finished or _dt.datetime.now().astimezone()
    return {
        "adapter": adapter,
        "versions": versions,
        "seed": seed,
        "options": options,
        "started_at": _timestamp(started),
        "finished_at": _timestamp(finished),
        "duration_s": round(max(0.0, (end - started).total_seconds()), 3) if started else 0.0,
        "command": command,
    }


def first_difference(old_run, new_run, paths):
    """The first key path (a tuple of keys into a report's ``run`` block) whose values differ
    between two runs, as ``(path, old value, new value)``; None when all are equal (``--resume``)."""
    for path in paths:
        a, b = old_run, new_run
        for key in path:
            a, b = (a or {}).get(key), (b or {}).get(key)
        if a != b:
            return path, a, b
    return None


def tally(cases):
    """``{status: n}`` over every status (zeros included) of case dicts."""
    counts = dict.fromkeys(STATUSES, 0)
    for case in cases:
        counts[case["status"]] += 1
    return counts


def assemble(*, partial, run, counts, expected, collected, total, checks, cases, **extra):
    """A report in the schema's key order (``extra`` keys, e.g. certify's ``matrix``, last), as
    strict JSON (``to_jsonable``), with its gate (``gate``) in the summary."""
    report = {
        "schema_version": SCHEMA_VERSION,
        "partial": bool(partial),
        "run": run,
        "summary": {"counts": counts, "expected": expected, "collected": collected, "total": total,
                    "gate": "pass", "gate_reasons": []},
        "checks": checks,
        "cases": cases,
        **extra,
    }
    report = to_jsonable(report)
    verdict, reasons = gate(report)
    report["summary"]["gate"], report["summary"]["gate_reasons"] = verdict, reasons
    return report


def build_report(*, results, planned_total, adapter, adapter_spec, runner, started_at, finished_at,
                 partial, command, expected_failures_path=None):
    """The report dict (strict-JSON values) for ``results`` of a run by ``runner``.

    ``results`` should hold one ``CaseResult`` per planned case (cases not run as ``skipped``);
    ``started_at``/``finished_at`` are datetimes or ISO-8601 strings (``finished_at`` may be None).
    """
    results = list(results)
    counts = count(results)
    options = {
        "profile": runner.profile_name,
        "timeout_s": float(runner.timeout_s),
        "select": list(runner.select),
        "expected_failures": None if expected_failures_path is None else os.fspath(expected_failures_path),
        "shrink": _shrinks(runner),
    }
    run = run_block(adapter=_adapter_info(adapter, adapter_spec, runner), seed=int(runner.seed), options=options,
                    started_at=started_at, finished_at=finished_at, command=command)
    return assemble(partial=partial, run=run, counts=counts, expected=int(planned_total) - counts["not_applicable"],
                    collected=sum(counts[s] for s in RAN), total=int(planned_total), checks=_checks_of(results),
                    cases=[case_to_dict(r) for r in results])


# -- gate ------------------------------------------------------------------------
def _n(number, singular, plural=None):
    return f"{number} {singular if number == 1 else (plural or singular + 's')}"


def gate(report):
    """``("pass" | "fail", reasons)``: fail on any failed or error case, any strict xpassed case,
    fewer collected than expected cases, or a partial (unfinished) run."""
    summary = report["summary"]
    counts = summary["counts"]
    reasons = []
    if counts.get("failed"):
        reasons.append(f"{_n(counts['failed'], 'case')} failed")
    if counts.get("error"):
        reasons.append(f"{_n(counts['error'], 'case')} ended in an error (the check could not be evaluated)")
    strict_xpassed = sum(1 for c in report.get("cases", ())
                         if c.get("status") == "xpassed" and (c.get("details") or {}).get("strict"))
    if strict_xpassed:
        reasons.append(f"{_n(strict_xpassed, 'case')} marked as a strict expected failure passed "
                       "(update the expected-failures list)")
    if summary["collected"] < summary["expected"]:
        reasons.append(f"collected {summary['collected']} of {summary['expected']} expected cases")
    if report.get("partial"):
        reasons.append("the run did not finish (partial report)")
    return ("fail" if reasons else "pass"), reasons


# -- validation, loading, writing --------------------------------------------------
@functools.lru_cache(maxsize=1)
def _validator():
    from jsonschema import Draft202012Validator

    with open(SCHEMA_PATH, encoding="utf-8") as fh:
        schema = json.load(fh)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def load_schema():
    """The report JSON Schema as a dict."""
    return _validator().schema


def validate_report(data):
    """Raise ``ValueError`` (one line, first error path) unless ``data`` matches the schema."""
    from jsonschema.exceptions import best_match

    errors = list(_validator().iter_errors(data))
    if errors:
        first = best_match(errors)
        path = "/" + "/".join(str(p) for p in first.absolute_path)
        message = " ".join(first.message.split())
        if len(message) > 200:
            message = message[:197] + "..."
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ValueError(f"invalid report at {path}: {message}{more}")
    return data


def _reject_constant(name):
    raise ValueError(f"report is not strict JSON: found {name}")


def load_report(path):
    """Read ``report.json`` or ``report.json.gz`` (or a directory holding one), validate it and
    return the dict."""
    path = os.fspath(path)
    if os.path.isdir(path):
        plain = os.path.join(path, REPORT_JSON)
        path = plain if os.path.exists(plain) or not os.path.exists(plain + ".gz") else plain + ".gz"
    import gzip

    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        data = json.load(fh, parse_constant=_reject_constant)
    return validate_report(data)


def write_report(report, directory, validate=True):
    """Validate ``report`` and atomically write ``report.json`` and ``report.md`` in ``directory``.

    Progress writes of a running report pass ``validate=False`` (schema validation of hundreds
    of cases costs more than the write); the final write always validates. Returns
    ``(json_path, md_path)``.
    """
    from harness.report.markdown import render_markdown

    data = to_jsonable(report)
    if validate:
        validate_report(data)
    directory = os.fspath(directory)
    json_path = os.path.join(directory, REPORT_JSON)
    md_path = os.path.join(directory, REPORT_MD)
    write_text_atomic(json_path, dumps(data))
    write_text_atomic(md_path, render_markdown(data))
    return json_path, md_path
