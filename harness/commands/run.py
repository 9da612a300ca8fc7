"""``resize-conformance run``: run the checks against one adapter and write a report as cases finish.

Cases run in a worker process (``harness.isolation``) unless ``--in-process``; the report is
rewritten (throttled) after every case and always once at the end, also after Ctrl-C, SIGTERM or
an internal error. ``--resume``, ``--shard``, ``--baseline`` and ``--expected-failures`` are
applied here; the gate is ``harness.report.build.gate`` (``harness.gate`` with a baseline).
"""

import argparse
import contextlib
import dataclasses
import datetime as dt
import os
import shutil
import signal
import sys
import tempfile

from harness.commands._common import (
    EXIT_CODES,
    EXIT_GATE_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    PROFILES,
    PROG,
    UsageError,
    bind,
    command_line,
    load_manifest,
    one_line,
    positive_seconds,
    prepare_report_dir,
    raise_interrupt,
    signals,
)

LABELS = {"passed": "PASSED", "failed": "FAILED", "error": "ERROR", "xfailed": "XFAILED",
          "xpassed": "XPASSED", "skipped": "SKIPPED", "not_applicable": "N/A"}
DEFAULT_REPORT_DIR = "resize-conformance-report"  # reproduce commands do not name one
PENDING = "not run: the run has not reached this case yet"
INTERRUPTED = "not run: interrupted"
CRASHED = "not run: the harness hit an internal error"


def register(sub, parser_class):
    run = sub.add_parser("run", help="run the checks against an adapter and write a report",
                         epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("--adapter", required=True, metavar="NAME",
                     help="built-in or entry-point adapter name, or 'module:factory'")
    run.add_argument("--report-dir", default=DEFAULT_REPORT_DIR, metavar="DIR",
                     help="directory for report.json and report.md, created if missing "
                          f"(default ./{DEFAULT_REPORT_DIR})")
    run.add_argument("--select", action="append", default=[], metavar="PATTERN",
                     help="only cases matching a case id, check id, family or check-id glob (repeatable)")
    run.add_argument("--seed", type=int, default=0, help="base seed of every case (default 0)")
    run.add_argument("--profile", choices=PROFILES, default="ci",
                     help="hypothesis profile for property cases (default ci)")
    run.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS",
                     help="time limit per case (default 300)")
    run.add_argument("--no-shrink", action="store_true", help="do not shrink falsifying examples")
    run.add_argument("--baseline", metavar="REPORT", default=None,
                     help="gate only on regressions against this committed report.json")
    run.add_argument("--shard", metavar="I/N", default=None,
                     help="run only shard I of N (deterministic split of the cases); join with 'merge'")
    run.add_argument("--worker-memory-mb", type=int, default=8192, metavar="MB",
                     help="restart the worker (and mark the case an error) when its RSS exceeds this")
    run.add_argument("--resume", action="store_true",
                     help="keep the results of an earlier (interrupted) run in --report-dir and run only the rest")
    run.add_argument("--in-process", action="store_true",
                     help="run cases in this process (for debugging); by default they run in a worker "
                          "process that is killed on timeout and replaced after a crash")
    run.add_argument("--cprofile", metavar="FILE", default=None,
                     help="profile the run with cProfile (implies --in-process; checks run on the main "
                          "thread, without the per-case timeout), save the stats to FILE and print the top entries")
    run.add_argument("--quiet", action="store_true", help="print only failures, errors and the summary")
    run.add_argument("--html", action="store_true", help="also write a self-contained report.html")
    run.add_argument("--expected-failures", metavar="FILE", default=None,
                     help="TOML manifest of known defects (harness/manifest.py); entries for the adapter's class apply")
    bind(run, RunOptions, cmd_run)


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """The options of one ``run`` (see ``register`` for their meaning)."""

    adapter: str
    report_dir: str
    select: tuple
    seed: int
    profile: str
    timeout_s: float
    shrink: bool
    baseline: str | None
    shard: str | None
    worker_memory_mb: int
    resume: bool
    in_process: bool
    cprofile: str | None
    quiet: bool
    html: bool
    expected_failures: str | None
    command: str

    @classmethod
    def from_args(cls, args, argv):
        return cls(adapter=args.adapter, report_dir=args.report_dir, select=tuple(args.select), seed=args.seed,
                   profile=args.profile, timeout_s=positive_seconds("--timeout", args.timeout),
                   shrink=not args.no_shrink, baseline=args.baseline, shard=args.shard,
                   worker_memory_mb=args.worker_memory_mb, resume=args.resume, in_process=args.in_process,
                   cprofile=args.cprofile, quiet=args.quiet, html=args.html,
                   expected_failures=args.expected_failures, command=command_line(argv))

    @property
    def class_name(self):
        """The model class the manifest's class globs match: ``transformers/<Class>`` -> ``<Class>``."""
        return self.adapter.split("/", 1)[-1]


@dataclasses.dataclass(frozen=True)
class RunInputs:
    """What the options name, loaded and checked before any case runs."""

    manifest_entries: list   # every entry of --expected-failures (judged after the run)
    expected_failures: tuple  # the ExpectedFailures of the entries that match the adapter's class
    baseline: dict | None     # the --baseline report
    shard: tuple | None       # (I, N) of --shard


def cmd_run(options):
    prepare_report_dir(options.report_dir)
    entries = load_manifest(options.expected_failures)
    xfails = ()
    if options.expected_failures:
        from harness import manifest

        xfails = manifest.for_class(entries, options.class_name)
    inputs = RunInputs(entries, xfails, _load_baseline(options.baseline), _parse_shard(options.shard))
    if options.cprofile:
        return _profiled(options, inputs)
    runner = _make_runner(options, inputs) if options.in_process else _make_isolated_runner(options, inputs)
    try:
        return _run_session(runner, options, inputs)
    finally:
        if hasattr(runner, "close"):
            runner.close()


def _load_baseline(path):
    if not path:
        return None
    from harness.report import load_report

    try:
        return load_report(path)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot use baseline {path!r}: {one_line(exc)}") from exc


def _parse_shard(spec):
    if not spec:
        return None
    from harness import shard

    try:
        return shard.parse(spec)
    except shard.ShardError as exc:
        raise UsageError(str(exc)) from exc


def _make_runner(options, inputs):
    """A runner whose cases run in this process; a bad adapter is a usage error."""
    from harness.registry import AdapterNotFound, resolve
    from harness.runner import Runner

    try:
        adapter = resolve(options.adapter)
    except AdapterNotFound as exc:
        raise UsageError(str(exc)) from exc
    except Exception as exc:
        raise UsageError(f"cannot create adapter {options.adapter!r}: {type(exc).__name__}: {exc}") from exc
    try:
        return Runner(adapter, adapter_spec=options.adapter, seed=options.seed, profile=options.profile,
                      timeout_s=options.timeout_s, select=list(options.select), shrink=options.shrink,
                      expected_failures=inputs.expected_failures)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    except Exception as exc:
        raise UsageError(f"adapter {options.adapter!r} is unusable: {type(exc).__name__}: {exc}") from exc


def _make_isolated_runner(options, inputs):
    """A runner whose cases run in a worker process; start-up problems are usage errors."""
    from harness.isolation import IsolatedRunner, WorkerError

    runner = IsolatedRunner(options.adapter, seed=options.seed, profile=options.profile,
                            timeout_s=options.timeout_s, max_rss_mb=options.worker_memory_mb,
                            select=list(options.select), shrink=options.shrink,
                            expected_failures=inputs.expected_failures)
    try:
        runner.plan()
    except WorkerError as exc:
        runner.close()
        raise UsageError(str(exc).splitlines()[0]) from exc
    return runner


def _profiled(options, inputs):
    """``run --cprofile FILE``: where the time goes (start-up, builds, resizes, traces, report writes)."""
    import cProfile
    import pstats

    from harness import runner as runner_module

    profiler = cProfile.Profile()
    direct = runner_module.run_on_calling_thread(True)  # cProfile sees one thread only
    profiler.enable()
    try:
        return _run_session(_make_runner(options, inputs), options, inputs)
    finally:
        profiler.disable()
        runner_module.run_on_calling_thread(direct)
        profiler.dump_stats(options.cprofile)
        print(f"\nprofile written to {options.cprofile}; top entries by cumulative time "
              f"(python -m pstats {options.cprofile} for more):")
        stats = pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative")
        stats.print_stats(r"harness|suites|transformers/modeling_tf_utils|func_graph\.py.*func_graph_from", 30)


class Session:
    """One ``run``: the plan (this shard's), the results so far, and the report written as cases finish."""

    def __init__(self, runner, options, inputs):
        from harness.report.atomic import WriteThrottle

        self.runner = runner
        self.options = options
        self.inputs = inputs
        self.plan = runner.plan()
        self.full_plan_ids = None
        if inputs.shard:
            from harness import shard

            self.full_plan_ids = [c.id for c in self.plan]
            self.plan = shard.select(self.plan, *inputs.shard)
        self.results = [None] * len(self.plan)
        self.started_at = dt.datetime.now().astimezone()
        self.write_warned = False
        self.throttle = WriteThrottle()

    def _filled(self, pending):
        from harness.results import CaseResult

        out = []
        for case, result in zip(self.plan, self.results):
            if result is None:
                status, message = ("not_applicable", case.na_reason) if case.na_reason else ("skipped", pending)
                result = CaseResult(case.id, case.check.id, case.kind, case.params, status, message)
            out.append(result)
        return out

    def report(self, *, partial, pending):
        """The report of the results so far (cases not run yet are ``skipped`` with ``pending``)."""
        from harness.report import build_report

        return build_report(
            results=self._filled(pending), planned_total=len(self.plan), adapter=self.runner.adapter,
            adapter_spec=self.options.adapter, runner=self.runner, started_at=self.started_at,
            finished_at=None if partial else dt.datetime.now().astimezone(), partial=partial,
            command=self.options.command, expected_failures_path=self.options.expected_failures)

    def decorate(self, report):
        """Shard bookkeeping, the baseline gate and unmatched manifest entries, applied to every report."""
        from harness import gate, shard

        inputs = self.inputs
        if inputs.shard:
            shard.annotate(report, *inputs.shard, self.full_plan_ids)
        if inputs.baseline is not None:
            gate.apply_baseline(report, inputs.baseline, self.options.baseline)
        if inputs.manifest_entries and not report["partial"] and not inputs.shard:
            from harness import manifest

            manifest.record_unmatched(report, inputs.manifest_entries, {self.options.class_name: report["cases"]})
        return report

    def write(self, *, partial, pending, final):
        """Write the report; an invalid report is kept as report.invalid.json, then re-raised.

        Progress writes (not ``final``) are throttled (``WriteThrottle``); the final one always
        happens, also after an interrupt, a signal or an exception.
        """
        from harness.report import build, write_report, write_text_atomic

        if not self.throttle.due(final):
            return None
        report = self.decorate(self.report(partial=partial, pending=pending))
        report_dir = self.options.report_dir
        try:
            write_report(report, report_dir, validate=final)
            if self.options.html and final:
                from harness.report.html import render_html

                write_text_atomic(os.path.join(report_dir, "report.html"), render_html(report))
        except ValueError:
            write_text_atomic(os.path.join(report_dir, "report.invalid.json"), build.dumps(report))
            raise
        except OSError as exc:
            if final:
                raise
            if not self.write_warned:
                print(f"{PROG}: warning: could not write the report ({exc}); will retry", file=sys.stderr)
                self.write_warned = True
        return report

    def execute(self):
        """Run every case; returns ``(report, interrupted)``. Never loses finished results."""
        total = len(self.plan)
        tmp_root = tempfile.mkdtemp(prefix="resize-conformance-")
        interrupted = False
        try:
            with signals(raise_interrupt):
                self.write(partial=True, pending=PENDING, final=False)
                for i, case in enumerate(self.plan):
                    if self.runner.stop_requested:
                        interrupted = True
                        break
                    if self.results[i] is not None:  # reused by --resume
                        continue
                    self.results[i] = self.runner.run_case(case, tmp_root)
                    _progress(self.results[i], i + 1, total, self.options.quiet)
                    self.write(partial=True, pending=PENDING, final=False)
        except KeyboardInterrupt:
            interrupted = True
        except BaseException:
            with signals(signal.SIG_IGN):
                with contextlib.suppress(Exception):
                    self.write(partial=True, pending=CRASHED, final=True)
            raise
        finally:
            shutil.rmtree(tmp_root, ignore_errors=True)
        with signals(signal.SIG_IGN):
            report = self.write(partial=interrupted, pending=INTERRUPTED, final=True)
        return report, interrupted


_RESUME_SAME = (("adapter", "spec"), ("seed",), ("options", "profile"), ("options", "select"), ("versions",))


def _resume(session):
    """Reuse the finished cases of the report already in --report-dir, if it is the same run."""
    from harness.report import build, load_report
    from harness.results import RAN, CaseResult

    report_dir = session.options.report_dir
    path = os.path.join(report_dir, "report.json")
    if not os.path.exists(path):
        print(f"{PROG}: --resume: no earlier report in {report_dir}; starting over", file=sys.stderr)
        return
    try:
        old = load_report(path)
    except (OSError, ValueError) as exc:
        print(f"{PROG}: --resume: ignoring unreadable earlier report ({one_line(exc)}); starting over",
              file=sys.stderr)
        return
    differs = build.first_difference(old["run"], session.report(partial=True, pending=PENDING)["run"],
                                     _RESUME_SAME)
    if differs:
        keys, a, b = differs
        raise UsageError(f"--resume: the earlier report differs in run.{'.'.join(keys)} "
                         f"({a!r} vs {b!r}); use another --report-dir or drop --resume")
    done = {c["id"]: c for c in old["cases"] if c["status"] in RAN}
    fields = {"id", "check", "kind", "params", "status", "message", "duration_s", "expected", "observed",
              "details", "reproduce", "seed"}
    reused = 0
    for i, case in enumerate(session.plan):
        if case.id in done:
            session.results[i] = CaseResult(**{"params": None, **{k: v for k, v in done[case.id].items()
                                                                   if k in fields}})
            reused += 1
    print(f"{PROG}: --resume: reusing {reused} finished cases from {path}", file=sys.stderr)


def _run_session(runner, options, inputs):
    session = Session(runner, options, inputs)
    if options.resume:
        _resume(session)
    if not session.plan:
        raise UsageError(f"no case matches --select {' '.join(options.select)} "
                         f"(see '{PROG} list-checks')")
    report, interrupted = session.execute()
    _print_summary(report, options.report_dir)
    from harness.manifest import warn_unmatched

    warn_unmatched(report, PROG)
    if interrupted:
        ran = report["summary"]["collected"]
        print(f"{PROG}: interrupted after {ran} of {report['summary']['expected']} expected cases; "
              f"partial report written to {options.report_dir}", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_OK if report["summary"]["gate"] == "pass" else EXIT_GATE_FAILED


# -- console output ------------------------------------------------------------------
def _progress(result, index, total, quiet):
    bad = result.status in ("failed", "error")
    if quiet and not bad:
        return
    width = max(4, len(str(total)))
    print(f"[{index:>{width}}/{total}] {LABELS[result.status]:<8} {result.id}  {result.duration_s:.2f}s",
          flush=True)
    if bad and result.message:
        for line in str(result.message).splitlines() or [""]:
            print(f"      {line}", flush=True)


def _print_summary(report, report_dir):
    from rich.console import Console

    from harness.results import STATUSES

    s = report["summary"]
    verdict = "PASS" if s["gate"] == "pass" else "FAIL"
    tail = [f"collected {s['collected']} of {s['expected']} expected cases "
            f"({s['total']} planned, {s['counts']['not_applicable']} not applicable)",
            f"gate: {verdict}"] + [f"  - {r}" for r in s["gate_reasons"]]
    tail.append(f"report: {os.path.join(report_dir, 'report.json')}, {os.path.join(report_dir, 'report.md')}")
    console = Console(file=sys.stdout)
    if console.is_terminal:
        from rich.table import Table

        table = Table(title="Summary")
        table.add_column("status")
        table.add_column("cases", justify="right")
        for k in STATUSES:
            table.add_row(LABELS[k] if k != "not_applicable" else "NOT APPLICABLE", str(s["counts"][k]))
        console.print(table)
        style = "bold green" if verdict == "PASS" else "bold red"
        for line in tail:
            console.print(line, style=style if line.startswith("gate:") else None, highlight=False,
                          markup=False)
        return
    print()
    print(f"{'status':<16}{'cases':>6}")
    for k in STATUSES:
        print(f"{k:<16}{s['counts'][k]:>6}")
    for line in tail:
        print(line)
    sys.stdout.flush()
