"""``resize-conformance env-error``: the report of a matrix environment that could not run.

``scripts/matrix.sh`` calls it when a (TensorFlow minor, adapter) combination cannot be
installed, imported or run, so the combination still has a schema-valid ``report.json``
(no cases, gate ``fail``, an ``environment_error`` note) instead of vanishing. Needs no
TensorFlow: it runs under any Python with this package's dependencies.
"""

import datetime as dt
import json
import os
import platform
import re

VERSION_KEYS = ("python", "tensorflow", "tf_keras", "keras", "transformers", "numpy", "hypothesis", "harness",
                "platform")
LOG_LINES = 40
ERROR_RE = re.compile(r"(^ERROR\b|Error\b|error:|No matching distribution|Could not find)", re.I)


def register(subparsers, parser_class):
    p = subparsers.add_parser("env-error", help="write the report of an environment that could not run "
                              "(used by scripts/matrix.sh)")
    p.add_argument("--report-dir", required=True, metavar="DIR")
    p.add_argument("--adapter", required=True, metavar="NAME")
    p.add_argument("--stage", required=True, help="what failed, e.g. 'install tensorflow-cpu==2.16.*'")
    p.add_argument("--message", default=None, help="one-line reason (default: the last error line of --log)")
    p.add_argument("--log", default=None, metavar="FILE", help="log whose tail goes into the report")
    p.add_argument("--requested", action="append", default=[], metavar="KEY=SPEC",
                   help="a requested package version, e.g. tensorflow=2.16.* (repeatable)")
    p.add_argument("--versions-json", default="{}", metavar="JSON",
                   help="versions found in the environment (keys as in report.run.versions)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--profile", default="ci")
    p.set_defaults(func=cmd_env_error)


def _tail(path):
    if not path or not os.path.exists(path):
        return ""
    with open(path, encoding="utf-8", errors="replace") as fh:
        lines = fh.read().splitlines()
    return "\n".join(lines[-LOG_LINES:])


def _message(log_tail, stage):
    errors = [line.strip() for line in log_tail.splitlines() if ERROR_RE.search(line)]
    return errors[-1][:500] if errors else f"{stage} failed (no error line in the log)"


def environment_error_report(*, adapter, stage, message, requested, versions, log_tail="", seed=0,
                             profile="ci", command=None):
    """A schema-valid report.json dict for a combination that did not run."""
    now = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    found = {k: (versions.get(k) if isinstance(versions.get(k), str) else None) for k in VERSION_KEYS}
    found["python"] = found["python"] or platform.python_version()
    counts = {s: 0 for s in ("passed", "failed", "error", "xfailed", "xpassed", "skipped", "not_applicable")}
    note = {"stage": stage, "message": message, "requested": dict(requested)}
    if log_tail:
        note["log_tail"] = log_tail
    return {
        "schema_version": "1.0",
        "partial": False,
        "run": {
            "adapter": {"name": adapter, "spec": adapter, "class": "unavailable (environment error)",
                        "capabilities": {"tie_modes": [], "bias_layouts": [], "dtypes": [], "flags": []}},
            "versions": found, "seed": int(seed),
            "options": {"profile": profile, "timeout_s": 0.0, "select": [], "expected_failures": None},
            "started_at": now, "finished_at": now, "duration_s": 0.0, "command": command,
        },
        "summary": {"counts": counts, "expected": 0, "collected": 0, "total": 0, "gate": "fail",
                    "gate_reasons": [f"environment error ({stage}): {message}"]},
        "checks": [],
        "cases": [],
        "environment_error": note,
    }


def cmd_env_error(args, argv):
    from harness.cli import UsageError
    from harness.report import write_report, write_text_atomic
    from harness.report.html import render_html

    try:
        versions = json.loads(args.versions_json or "{}")
    except ValueError as exc:
        raise UsageError(f"--versions-json is not JSON: {exc}") from exc
    requested = {}
    for item in args.requested:
        key, sep, spec = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--requested wants KEY=SPEC, got {item!r}")
        requested[key] = spec
    tail = _tail(args.log)
    message = args.message or _message(tail, args.stage)
    report = environment_error_report(adapter=args.adapter, stage=args.stage, message=message,
                                      requested=requested, versions=versions if isinstance(versions, dict) else {},
                                      log_tail=tail, seed=args.seed, profile=args.profile,
                                      command="bash scripts/matrix.sh")
    json_path, _ = write_report(report, args.report_dir)
    write_text_atomic(os.path.join(args.report_dir, "report.html"), render_html(report))
    print(f"environment error report written to {json_path}: {message}")
    return 0
