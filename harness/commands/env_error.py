"""``resize-conformance env-error``: the report of a matrix environment that could not run.

``scripts/matrix.sh`` calls it when a (TensorFlow minor, adapter) combination cannot be
installed, imported or run, so the combination still has a schema-valid ``report.json``
(no cases, gate ``fail``, an ``environment_error`` note) instead of vanishing. Needs no
TensorFlow: it runs under any Python with this package's dependencies.
"""

import dataclasses
import datetime as dt
import json
import os
import platform
import re

from harness.commands._common import EXIT_OK, UsageError, bind, write_report_and_html

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
    bind(p, EnvErrorOptions, cmd_env_error)


@dataclasses.dataclass(frozen=True)
class EnvErrorOptions:
    """The options of ``env-error``, with ``--requested`` and ``--versions-json`` parsed."""

    report_dir: str
    adapter: str
    stage: str
    message: str | None
    log: str | None
    requested: dict   # {package: version spec}
    versions: dict    # as in report.run.versions
    seed: int
    profile: str

    @classmethod
    def from_args(cls, args, argv):
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
        return cls(report_dir=args.report_dir, adapter=args.adapter, stage=args.stage, message=args.message,
                   log=args.log, requested=requested, versions=versions if isinstance(versions, dict) else {},
                   seed=args.seed, profile=args.profile)


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
    from harness.report import build

    now = dt.datetime.now().astimezone()
    found = {k: (versions.get(k) if isinstance(versions.get(k), str) else None) for k in VERSION_KEYS}
    found["python"] = found["python"] or platform.python_version()
    note = {"stage": stage, "message": message, "requested": dict(requested)}
    if log_tail:
        note["log_tail"] = log_tail
    run = build.run_block(
        adapter={"name": adapter, "spec": adapter, "class": "unavailable (environment error)",
                 "capabilities": {"tie_modes": [], "bias_layouts": [], "dtypes": [], "flags": []}},
        versions=found, seed=int(seed),
        options={"profile": profile, "timeout_s": 0.0, "select": [], "expected_failures": None},
        started_at=now, finished_at=now, command=command)
    return {
        "schema_version": build.SCHEMA_VERSION,
        "partial": False,
        "run": run,
        "summary": {"counts": build.tally(()), "expected": 0, "collected": 0, "total": 0, "gate": "fail",
                    "gate_reasons": [f"environment error ({stage}): {message}"]},
        "checks": [],
        "cases": [],
        "environment_error": note,
    }


def cmd_env_error(options):
    tail = _tail(options.log)
    message = options.message or _message(tail, options.stage)
    report = environment_error_report(adapter=options.adapter, stage=options.stage, message=message,
                                      requested=options.requested, versions=options.versions, log_tail=tail,
                                      seed=options.seed, profile=options.profile, command="bash scripts/matrix.sh")
    json_path, _ = write_report_and_html(report, options.report_dir)
    print(f"environment error report written to {json_path}: {message}")
    return EXIT_OK
