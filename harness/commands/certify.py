"""``resize-conformance certify``: run the checks on many subjects (every transformers TF class)
in isolated worker processes and write a class x check compliance matrix (``harness.certify``)."""

import dataclasses
import datetime as dt
import os
import sys
import threading
import time

from harness.commands._common import (
    EXIT_GATE_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    PROFILES,
    PROG,
    UsageError,
    bind,
    command_line,
    load_manifest,
    positive_seconds,
    prepare_report_dir,
    raise_interrupt,
    signals,
    write_report_and_html,
)
from harness.results import classes_line

DEFAULT_CLASS_TIMEOUT_S = 600.0
# families with classes that need more: keras-hub's BLIP2 tasks (vision encoder + Q-Former + language
# model) took 636 s (quiet) and 942 s (loaded) on 2 cores
CLASS_TIMEOUT_S = {"keras_hub": 1800.0}


def register(sub, parser_class):
    p = sub.add_parser("certify", help="certify every class of an adapter family (e.g. transformers)")
    p.add_argument("--adapter", required=True, metavar="FAMILY",
                   help="'transformers' (every TF model class it exports), 'keras_hub' (every task class) "
                        "or any single adapter name")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--all", action="store_true", help="every class (the default)")
    which.add_argument("--model", action="append", default=[], metavar="CLASS",
                       help="only this class (repeatable), e.g. TFBertForMaskedLM")
    p.add_argument("--report-dir", default="certify-report", metavar="DIR",
                   help="where report.json/.md/.html and classes/<Class>/ go (default ./certify-report)")
    p.add_argument("-j", "--jobs", type=int, default=None, metavar="N",
                   help="classes run in parallel, one worker process each (default: min(cores, 4))")
    p.add_argument("--select", action="append", default=[], metavar="PATTERN", help="as for 'run'")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--profile", choices=PROFILES, default="ci")
    p.add_argument("--timeout", type=float, default=120.0, metavar="SECONDS", help="per case (default 120)")
    p.add_argument("--class-timeout", type=float, default=None, metavar="SECONDS",
                   help="budget per class; cases not reached are reported skipped (default 600; 1800 for "
                        "keras_hub, whose BLIP2 tasks take 10-16 minutes on 2 cores)")
    p.add_argument("--expected-failures", metavar="FILE", default=None,
                   help="TOML manifest of known defects; the gate honours it, the report shows every failure")
    p.add_argument("--no-shrink", action="store_true")
    p.add_argument("--fresh-workers", action="store_true",
                   help="a new worker process for every class (default: warm workers run class after "
                        "class, reset in between, and are replaced when a class left state behind)")
    p.add_argument("--resume", action="store_true",
                   help="keep the class reports already in --report-dir that the same code, library "
                        "versions, options and manifest entries made (an interrupted or sharded "
                        "certify-all continues where it stopped); run the other classes")
    p.add_argument("--quiet", action="store_true", help="one line per class, no per-case failures")
    p.add_argument("--shard", metavar="I/N", default=None,
                   help="certify only shard I of N (a deterministic split by class name); join the "
                        "shards' report.json with 'merge'")
    bind(p, CertifyOptions, cmd_certify)


@dataclasses.dataclass(frozen=True)
class CertifyOptions:
    """The options of one ``certify`` (see ``register`` for their meaning)."""

    family: str
    models: tuple
    report_dir: str
    jobs: int
    select: tuple
    seed: int
    profile: str
    timeout_s: float
    class_timeout_s: float
    expected_failures: str | None
    shrink: bool
    fresh_workers: bool
    resume: bool
    quiet: bool
    shard: str | None
    command: str

    @classmethod
    def from_args(cls, args, argv):
        positive_seconds("--timeout", args.timeout)
        class_timeout = args.class_timeout
        if class_timeout is None:
            class_timeout = CLASS_TIMEOUT_S.get(args.adapter, DEFAULT_CLASS_TIMEOUT_S)
        positive_seconds("--class-timeout", class_timeout)
        jobs = args.jobs if args.jobs is not None else _default_jobs()
        if jobs < 1:
            raise UsageError(f"-j must be at least 1, not {jobs}")
        return cls(family=args.adapter, models=tuple(args.model), report_dir=args.report_dir, jobs=jobs,
                   select=tuple(args.select), seed=args.seed, profile=args.profile, timeout_s=args.timeout,
                   class_timeout_s=class_timeout, expected_failures=args.expected_failures,
                   shrink=not args.no_shrink, fresh_workers=args.fresh_workers, resume=args.resume,
                   quiet=args.quiet, shard=args.shard, command=command_line(argv))

    def library_options(self, entries):
        """The options dict of ``harness.certify.run_all`` / ``aggregate``; ``entries`` are the
        manifest's (``xfails_for`` picks a class's)."""
        from harness import manifest

        return {"family": self.family, "seed": self.seed, "profile": self.profile, "timeout_s": self.timeout_s,
                "class_timeout_s": self.class_timeout_s, "select": list(self.select), "shrink": self.shrink,
                "jobs": self.jobs, "expected_failures_path": self.expected_failures,
                "warm_workers": not self.fresh_workers, "resume": self.resume,
                "xfails_for": lambda name: manifest.for_class(entries, name) if entries else (),
                "command": self.command}


def _default_jobs():
    from harness import certify

    return certify.default_jobs()


def _subjects(options):
    """The subjects to certify and, with --shard, ``{index, count, subjects}`` of the whole list."""
    from harness import certify

    try:
        subject_list = certify.subjects(options.family, list(options.models))
    except (ValueError, KeyError, ImportError) as exc:
        raise UsageError(str(exc)) from exc
    if options.shard is None:
        return subject_list, None
    from harness import shard

    try:
        index, count = shard.parse(options.shard)
    except shard.ShardError as exc:
        raise UsageError(str(exc)) from exc
    shard_info = {"index": index, "count": count, "subjects": [s.name for s in subject_list]}
    return [s for s in subject_list if shard.owns_subject(s.name, index, count)], shard_info


def _record_unmatched(report, entries):
    """Record (in ``report``) the manifest entries in this run's scope that matched no failing case."""
    from harness import manifest

    by_class = {}
    for c in report["cases"]:
        by_class.setdefault(c.get("subject"), []).append(dict(c, id=c["id"].split("::", 1)[-1]))
    manifest.record_unmatched(report, entries, by_class)


def cmd_certify(options):
    from harness import certify, manifest

    prepare_report_dir(options.report_dir)
    subject_list, shard_info = _subjects(options)
    entries = load_manifest(options.expected_failures)
    run_options = options.library_options(entries)
    jobs = options.jobs
    runnable = sum(1 for s in subject_list if s.adapter_spec)
    print(f"certifying {runnable} classes ({len(subject_list) - runnable} not applicable) "
          f"with {jobs} worker{'s' if jobs != 1 else ''}", flush=True)
    lock = threading.Lock()
    done = [0]
    started_at = dt.datetime.now().astimezone()
    t0 = time.perf_counter()

    def on_case(subject, result):
        if not options.quiet and result.status in ("failed", "error"):
            with lock:
                print(f"    {result.status.upper():<7} {subject.name} {result.id}: {result.message[:160]}",
                      flush=True)

    def on_subject(run):
        with lock:
            done[0] += 1
            rep = run.report
            if rep is None and getattr(run, "unsupported", None):
                line = f"N/A     (unsupported: {run.unsupported})"
            elif rep is None:
                line = f"ERROR   ({run.error})"
            else:
                c = rep["summary"]["counts"]
                verdict = "PASS" if rep["summary"]["gate"] == "pass" else "FAIL"
                line = (f"{verdict:<7} {c['passed']} passed, {c['failed']} failed, {c['error']} error, "
                        f"{c['xfailed']} xfailed, {c['not_applicable']} n/a")
            if run.resumed:
                line += "  (kept from the earlier run)"
            elif options.resume and run.resume_miss and run.resume_miss != "no earlier report":
                line += f"  (rerun: {run.resume_miss})"
            print(f"[{done[0]:>3}/{runnable}] {run.subject.name:<45} {line}  {run.duration_s:.1f}s "
                  f"(elapsed {time.perf_counter() - t0:.0f}s)", flush=True)

    interrupted = False
    runs = {}
    try:
        with signals(raise_interrupt):
            certify.run_all(subject_list, run_options, options.report_dir, jobs=jobs,
                            on_subject=on_subject, on_case=on_case, runs=runs)
    except KeyboardInterrupt:
        interrupted = True
    report = certify.aggregate(subject_list, _collect(subject_list, options.report_dir, runs, interrupted),
                               started_at=started_at, command=options.command, options=run_options,
                               interrupted=interrupted)
    report["run"]["options"]["wall_s"] = round(time.perf_counter() - t0, 1)
    report["run"]["timing"] = certify.timing(report, wall_s=time.perf_counter() - t0)
    if options.resume:
        report["run"]["timing"]["subjects_resumed"] = sum(1 for r in runs.values() if r.resumed)
    report["run"]["timing"].update({f"workers_{k}": v for k, v in (run_options.get("worker_stats") or {}).items()})
    if shard_info:
        report["run"]["options"]["shard"] = shard_info
    if entries and not interrupted and not shard_info:
        _record_unmatched(report, entries)
    write_report_and_html(report, options.report_dir)
    s = report["summary"]
    if shard_info:
        print(f"\nshard {shard_info['index']}/{shard_info['count']}: {len(subject_list)} of "
              f"{len(shard_info['subjects'])} classes")
    print("\n" + classes_line(report["matrix"]["subjects"]))
    print("cases: " + ", ".join(f"{v} {k}" for k, v in s["counts"].items() if v))
    print(f"collected {s['collected']} of {s['expected']} expected cases; gate: {s['gate'].upper()}")
    for reason in s["gate_reasons"]:
        print(f"  - {reason}")
    print(f"wall time {time.perf_counter() - t0:.0f}s; report: {os.path.join(options.report_dir, 'report.json')} "
          "(and report.md, report.html)")
    manifest.warn_unmatched(report, PROG)
    if interrupted:
        print(f"{PROG}: interrupted; partial report written", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_OK if s["gate"] == "pass" else EXIT_GATE_FAILED


def _collect(subject_list, report_dir, runs, interrupted):
    """The runs; after an interrupt, with the per-class report on disk for a subject whose run holds
    none (the classes that finished or wrote a partial report before it)."""
    from harness import certify
    from harness.report import load_report

    out = dict(runs)
    for s in subject_list if interrupted else ():
        if out.get(s.name) is not None and out[s.name].report is not None:
            continue
        path = os.path.join(report_dir, "classes", certify.safe_name(s.name), "report.json")
        if os.path.exists(path):
            run = certify.SubjectRun(s, {}, os.path.dirname(path))
            run.report = load_report(path)
            out[s.name] = run
    return out
