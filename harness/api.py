"""Library API: run the checks against one adapter without pytest or the CLI (what ``run`` does).

    from harness.api import run
    result = run("reference", expected_failures="manifests/mine.toml")
    assert result.passed, result.report["summary"]["gate_reasons"]

The gate is the CLI's (``harness.gate``): same statuses, same rules, same exit code.
"""

import dataclasses
import datetime as dt
import tempfile

from harness import gate as gates


class ConformanceError(AssertionError):
    """Raised by ``run(..., on_fail="raise")`` when the gate fails."""

    def __init__(self, message, result):
        super().__init__(message)
        self.result = result


@dataclasses.dataclass
class Certification:
    report: dict          # the report.json document (validated)
    results: list         # CaseResult per planned case
    exit_code: int

    @property
    def passed(self):
        return self.report["summary"]["gate"] == "pass"

    @property
    def failures(self):
        return [r for r in self.results if r.status in ("failed", "error")]


def _expected_failures(value, adapter_name):
    if value is None:
        return ()
    if isinstance(value, (str, bytes)) or hasattr(value, "__fspath__"):
        from harness import manifest

        return manifest.for_class(manifest.load(value), adapter_name.split("/", 1)[-1])
    return tuple(value)


def run(adapter, *, expected_failures=None, on_fail=None, select=(), profile="ci", seed=0,
            timeout_s=300.0, baseline=None, report_dir=None, isolate=False, shrink=True):
    """Run every applicable check; return a ``Certification``.

    ``adapter``: an Adapter instance or a name ('reference', 'module:factory', ...).
    ``expected_failures``: a manifest path or ExpectedFailure objects.
    ``on_fail``: None, ``"raise"`` (ConformanceError when the gate fails), or a callable
    called with each failed/error CaseResult as it happens.
    ``baseline``: a report dict or path: gate only on regressions against it.
    ``report_dir``: also write report.json/.md there. ``isolate``: run cases in a worker process
    (needs an adapter name).
    """
    from harness.registry import resolve
    from harness.report import build_report, load_report, write_report
    from harness.runner import Runner, default_adapter_spec

    spec = adapter if isinstance(adapter, str) else default_adapter_spec(adapter)
    xfails = _expected_failures(expected_failures, spec)
    if isolate:
        if not isinstance(adapter, str):
            raise ValueError("isolate=True needs an adapter name the worker can resolve")
        from harness.isolation import IsolatedRunner

        runner = IsolatedRunner(spec, seed=seed, profile=profile, timeout_s=timeout_s, select=select,
                                shrink=shrink, expected_failures=xfails)
    else:
        instance = resolve(adapter) if isinstance(adapter, str) else adapter
        runner = Runner(instance, adapter_spec=spec, seed=seed, profile=profile, timeout_s=timeout_s,
                        select=select, expected_failures=xfails, shrink=shrink)
    started = dt.datetime.now().astimezone()
    results = []
    try:
        plan = runner.plan()
        tmp_root = tempfile.mkdtemp(prefix="resize-conformance-")
        for case in plan:
            result = runner.run_case(case, tmp_root)
            results.append(result)
            if callable(on_fail) and result.status in ("failed", "error"):
                on_fail(result)
    finally:
        if hasattr(runner, "close"):
            runner.close()
    report = build_report(results=results, planned_total=len(plan), adapter=runner.adapter,
                          adapter_spec=spec, runner=runner, started_at=started,
                          finished_at=dt.datetime.now().astimezone(), partial=False,
                          command=f"harness.api.run({spec!r})",
                          expected_failures_path=expected_failures if isinstance(expected_failures, str) else None)
    if baseline is not None:
        base = load_report(baseline) if not isinstance(baseline, dict) else baseline
        gates.apply_baseline(report, base, baseline if isinstance(baseline, str) else None)
    if report_dir:
        write_report(report, report_dir)
    result = Certification(report, results, gates.exit_code(report))
    if on_fail == "raise" and not result.passed:
        raise ConformanceError("resize conformance gate failed: " + "; ".join(report["summary"]["gate_reasons"]),
                               result)
    return result
