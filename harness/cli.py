"""The ``resize-conformance`` command: ``run``, ``list-checks``, ``list-adapters``.

TensorFlow-dependent modules are imported lazily so ``--help`` and ``list-adapters`` are fast.
"""

import argparse
import contextlib
import datetime as dt
import importlib
import json
import math
import os
import shlex
import shutil
import signal
import sys
import tempfile
import threading
import traceback

PROG = "resize-conformance"
EXIT_OK, EXIT_GATE_FAILED, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
PROFILES = ("dev", "ci", "thorough")  # mirrors harness.profiles (not imported: it pulls in hypothesis)
LABELS = {"passed": "PASSED", "failed": "FAILED", "error": "ERROR", "xfailed": "XFAILED",
          "xpassed": "XPASSED", "skipped": "SKIPPED", "not_applicable": "N/A"}
DEFAULT_REPORT_DIR = "resize-conformance-report"  # reproduce commands do not name one
PENDING = "not run: the run has not reached this case yet"
INTERRUPTED = "not run: interrupted"
CRASHED = "not run: the harness hit an internal error"
EPILOG = """\
exit codes:
  0    the gate passed
  1    the gate failed: a case failed or ended in an error, a strict expected failure
       passed, or fewer cases ran than were expected
  2    usage error or bad input (unknown adapter, bad option, unwritable report directory)
  3    internal error of the harness
  130  interrupted (Ctrl-C or SIGTERM); a partial report was written
"""


# Further subcommands: each module has ``register(subparsers, parser_class)`` that adds its
# parser(s) with ``set_defaults(func=handler)``; ``handler(args, argv)`` returns an exit code
# and raises ``harness.cli.UsageError`` for bad input. Keep these imports light (lazy TF).
COMMAND_MODULES = [
    "harness.commands.certify",
    "harness.commands.merge",
    "harness.commands.golden",
    "harness.commands.diff",
    "harness.commands.junit",
    "harness.commands.matrix",
    "harness.commands.bench",
]


class UsageError(Exception):
    """Bad command line or input: exit 2 with a one-line message."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def _one_line(text):
    return " ".join(str(text).split())


def _err(message):
    print(f"{PROG}: error: {_one_line(message)}", file=sys.stderr, flush=True)


def build_parser():
    parser = _Parser(prog=PROG, description="Conformance suite for vocabulary-resize implementations "
                     "in TensorFlow models.", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="store_true", help="print the harness version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="run the checks against an adapter and write a report",
                         epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
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
    run.set_defaults(func=cmd_run)

    lc = sub.add_parser("list-checks", help="list every check and the property it tests")
    lc.add_argument("--json", action="store_true", help="print the checks as JSON")
    lc.add_argument("--mutants", action="store_true",
                    help="under each check, the mutants (tests/mutants*.py, tests/real_mutants.py) that must "
                         "make it fail, and the failure message each must trigger (from a checkout)")
    lc.set_defaults(func=cmd_list_checks)

    la = sub.add_parser("list-adapters", help="list the adapters that can be named without a module path")
    la.set_defaults(func=cmd_list_adapters)

    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(sub, _Parser)
    return parser


def main(argv=None):
    """Entry point; returns the exit code (see ``EPILOG``)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        _err(f"{exc} (see '{PROG} --help')")
        return EXIT_USAGE
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    if args.version:
        from harness import __version__

        print(f"{PROG} {__version__}")
        return EXIT_OK
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    _quiet_tensorflow()
    try:
        return args.func(args, argv)
    except UsageError as exc:
        _err(exc)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the harness's own bug: report it, exit 3
        traceback.print_exc()
        _err(f"internal error: {type(exc).__name__}: {exc}")
        return EXIT_INTERNAL


def _quiet_tensorflow():
    """Hide TF's C++ info/warnings and its Python warnings (e.g. retracing) unless the user
    asked for them with TF_CPP_MIN_LOG_LEVEL=0 or 1, and transformers' banner unless
    TRANSFORMERS_VERBOSITY is set (``harness.quiet``). Must run before TensorFlow is imported."""
    from harness.quiet import apply_defaults

    apply_defaults()


# -- list-checks / list-adapters ---------------------------------------------------
def cmd_list_checks(args, argv):
    from harness.checks import all_checks

    checks = all_checks()
    index = _mutant_index() if args.mutants else None
    if args.json:
        rows = [c.to_dict() for c in checks]
        for row in rows if index is not None else ():
            row["mutants"] = [{"mutant": m.qualname, "message": m.message_for(row["id"]),
                               "description": m.description} for m in index.get(row["id"], [])]
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    width = max((len(c.id) for c in checks), default=0)
    for c in checks:
        print(f"{c.id:<{width}}  {c.property}")
        for m in index.get(c.id, []) if index is not None else ():
            message = m.message_for(c.id)
            print(f"    {m.qualname}" + (f"  (message: {message!r})" if message else ""))
    return EXIT_OK


def _mutant_index():
    """``{check id: [mutant_index.Mutant]}`` read from the checkout's tests/ (nothing is imported)."""
    from harness import mutant_index

    try:
        return mutant_index.by_check(mutant_index.catalogue())
    except FileNotFoundError as exc:
        raise UsageError(f"--mutants needs a checkout with the mutant catalogue: {exc}") from exc


def cmd_list_adapters(args, argv):
    from harness.registry import available

    names = available()
    width = max((len(n) for n in names), default=0)
    for name, target in sorted(names.items()):
        print(f"{name:<{width}}  {target}")
    return EXIT_OK


# -- run -----------------------------------------------------------------------------
def _prepare_report_dir(path):
    """Create ``path`` and prove it is writable, or raise UsageError."""
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise UsageError(f"cannot write to report directory {path!r}: {exc.strerror or exc}") from exc
    return path


def _make_runner(args):
    from harness.registry import AdapterNotFound, resolve
    from harness.runner import Runner

    try:
        adapter = resolve(args.adapter)
    except AdapterNotFound as exc:
        raise UsageError(str(exc)) from exc
    except Exception as exc:
        raise UsageError(f"cannot create adapter {args.adapter!r}: {type(exc).__name__}: {exc}") from exc
    xfails = getattr(args, "expected_failure_entries", ())
    try:
        return Runner(adapter, adapter_spec=args.adapter, seed=args.seed, profile=args.profile,
                      timeout_s=args.timeout, select=args.select, shrink=not args.no_shrink,
                      expected_failures=xfails)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    except Exception as exc:
        raise UsageError(f"adapter {args.adapter!r} is unusable: {type(exc).__name__}: {exc}") from exc


def _expected_failures(args):
    """ExpectedFailures of ``--expected-failures`` whose class glob matches the adapter's model class
    (``transformers/<Class>`` -> ``<Class>``, else the adapter name)."""
    if not getattr(args, "expected_failures", None):
        return ()
    from harness import manifest

    try:
        entries = manifest.load(args.expected_failures)
    except manifest.ManifestError as exc:
        raise UsageError(f"bad expected-failures manifest: {exc}") from exc
    args.manifest_entries = entries  # judged after the run (_decorate): entries that matched nothing
    return manifest.for_class(entries, args.adapter.split("/", 1)[-1])


@contextlib.contextmanager
def _signals(handler):
    """Route SIGTERM (and, with SIG_IGN, SIGINT) to ``handler`` inside the block (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    names = ("SIGTERM",) if handler is not signal.SIG_IGN else ("SIGTERM", "SIGINT")
    saved = {}
    for name in names:
        sig = getattr(signal, name, None)
        if sig is not None:
            saved[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in saved.items():
            signal.signal(sig, old)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


class _Session:
    """One ``run``: the plan, the results so far, and the report written as cases finish."""

    def __init__(self, runner, args, argv):
        self.runner = runner
        self.args = args
        self.plan = runner.plan()
        self.results = [None] * len(self.plan)
        self.command = f"{PROG} {shlex.join(argv)}"
        self.started_at = dt.datetime.now().astimezone()
        self.write_warned = False
        from harness.report.atomic import WriteThrottle

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
        from harness.report import build_report

        return build_report(
            results=self._filled(pending), planned_total=len(self.plan), adapter=self.runner.adapter,
            adapter_spec=self.args.adapter, runner=self.runner, started_at=self.started_at,
            finished_at=None if partial else dt.datetime.now().astimezone(), partial=partial,
            command=self.command, expected_failures_path=getattr(self.args, "expected_failures", None))

    def write(self, *, partial, pending, final):
        """Write the report; an invalid report is kept as report.invalid.json, then re-raised.

        Progress writes (not ``final``) are throttled (``WriteThrottle``); the final one always
        happens, also after an interrupt, a signal or an exception.
        """
        from harness.report import build, write_report, write_text_atomic

        if not self.throttle.due(final):
            return None
        report = _decorate(self.report(partial=partial, pending=pending), self)
        try:
            write_report(report, self.args.report_dir, validate=final)
            if getattr(self.args, "html", False) and final:
                from harness.report.html import render_html

                write_text_atomic(os.path.join(self.args.report_dir, "report.html"), render_html(report))
        except ValueError:
            write_text_atomic(os.path.join(self.args.report_dir, "report.invalid.json"), build.dumps(report))
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
            with _signals(_raise_interrupt):
                self.write(partial=True, pending=PENDING, final=False)
                for i, case in enumerate(self.plan):
                    if self.runner.stop_requested:
                        interrupted = True
                        break
                    if self.results[i] is not None:  # reused by --resume
                        continue
                    self.results[i] = self.runner.run_case(case, tmp_root)
                    _progress(self.results[i], i + 1, total, self.args.quiet)
                    self.write(partial=True, pending=PENDING, final=False)
        except KeyboardInterrupt:
            interrupted = True
        except BaseException:
            with _signals(signal.SIG_IGN):
                with contextlib.suppress(Exception):
                    self.write(partial=True, pending=CRASHED, final=True)
            raise
        finally:
            shutil.rmtree(tmp_root, ignore_errors=True)
        with _signals(signal.SIG_IGN):
            report = self.write(partial=interrupted, pending=INTERRUPTED, final=True)
        return report, interrupted


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


def cmd_run(args, argv):
    if not (args.timeout > 0 and math.isfinite(args.timeout)):
        raise UsageError(f"--timeout must be a positive number of seconds, not {args.timeout:g}")
    _prepare_report_dir(args.report_dir)
    args.expected_failure_entries = _expected_failures(args)
    args.baseline_report = _load_baseline(args)
    if args.shard:
        from harness import shard

        try:
            shard.parse(args.shard)
        except shard.ShardError as exc:
            raise UsageError(str(exc)) from exc
    if args.cprofile:
        return _profiled(args, argv)
    runner = _make_runner(args) if args.in_process else _make_isolated_runner(args)
    try:
        return _run_session(runner, args, argv)
    finally:
        if hasattr(runner, "close"):
            runner.close()


def _profiled(args, argv):
    """``run --cprofile FILE``: where the time goes (start-up, builds, resizes, traces, report writes)."""
    import cProfile
    import pstats

    from harness import runner as runner_module

    profiler = cProfile.Profile()
    direct = runner_module.run_on_calling_thread(True)  # cProfile sees one thread only
    profiler.enable()
    try:
        return _run_session(_make_runner(args), args, argv)
    finally:
        profiler.disable()
        runner_module.run_on_calling_thread(direct)
        profiler.dump_stats(args.cprofile)
        print(f"\nprofile written to {args.cprofile}; top entries by cumulative time "
              f"(python -m pstats {args.cprofile} for more):")
        stats = pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative")
        stats.print_stats(r"harness|suites|transformers/modeling_tf_utils|func_graph\.py.*func_graph_from", 30)


def _make_isolated_runner(args):
    """A runner whose cases run in a worker process; start-up problems are usage errors."""
    from harness.isolation import IsolatedRunner, WorkerError

    runner = IsolatedRunner(args.adapter, seed=args.seed, profile=args.profile, timeout_s=args.timeout,
                            max_rss_mb=args.worker_memory_mb,
                            select=args.select, shrink=not args.no_shrink,
                            expected_failures=getattr(args, "expected_failure_entries", ()))
    try:
        runner.plan()
    except WorkerError as exc:
        runner.close()
        raise UsageError(str(exc).splitlines()[0]) from exc
    return runner


def _decorate(report, session):
    """Shard bookkeeping and the baseline gate, applied to every report this run writes."""
    from harness import gate, shard

    args = session.args
    if getattr(session, "shard", None):
        shard.annotate(report, *session.shard, session.full_plan_ids)
    if getattr(args, "baseline_report", None) is not None:
        gate.apply_baseline(report, args.baseline_report, args.baseline)
    if getattr(args, "manifest_entries", None) and not report["partial"] and not getattr(session, "shard", None):
        from harness import manifest

        class_name = args.adapter.split("/", 1)[-1]
        manifest.record_unmatched(report, args.manifest_entries, {class_name: report["cases"]})
    return report


_RESUME_SAME = (("adapter", "spec"), ("seed",), ("options", "profile"), ("options", "select"), ("versions",))


def _resume(session):
    """Reuse the finished cases of the report already in --report-dir, if it is the same run."""
    from harness.report import load_report
    from harness.results import RAN, CaseResult

    path = os.path.join(session.args.report_dir, "report.json")
    if not os.path.exists(path):
        print(f"{PROG}: --resume: no earlier report in {session.args.report_dir}; starting over", file=sys.stderr)
        return
    try:
        old = load_report(path)
    except (OSError, ValueError) as exc:
        print(f"{PROG}: --resume: ignoring unreadable earlier report ({_one_line(exc)}); starting over",
              file=sys.stderr)
        return
    current = session.report(partial=True, pending=PENDING)["run"]
    for keys in _RESUME_SAME:
        a, b = old["run"], current
        for k in keys:
            a, b = (a or {}).get(k), (b or {}).get(k)
        if a != b:
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


def _load_baseline(args):
    if not args.baseline:
        return None
    from harness.report import load_report

    try:
        return load_report(args.baseline)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot use baseline {args.baseline!r}: {_one_line(exc)}") from exc


def _run_session(runner, args, argv):
    session = _Session(runner, args, argv)
    session.shard = None
    if args.shard:
        from harness import shard

        try:
            session.shard = shard.parse(args.shard)
        except shard.ShardError as exc:
            raise UsageError(str(exc)) from exc
        session.full_plan_ids = [c.id for c in session.plan]
        session.plan = shard.select(session.plan, *session.shard)
        session.results = [None] * len(session.plan)
    if args.resume:
        _resume(session)
    if not session.plan:
        raise UsageError(f"no case matches --select {' '.join(args.select)} "
                         f"(see '{PROG} list-checks')")
    report, interrupted = session.execute()
    _print_summary(report, args.report_dir)
    from harness.manifest import warn_unmatched

    warn_unmatched(report, PROG)
    if interrupted:
        ran = report["summary"]["collected"]
        print(f"{PROG}: interrupted after {ran} of {report['summary']['expected']} expected cases; "
              f"partial report written to {args.report_dir}", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_OK if report["summary"]["gate"] == "pass" else EXIT_GATE_FAILED


if __name__ == "__main__":
    sys.exit(main())
