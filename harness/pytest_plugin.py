"""pytest plugin: ``pytest --resize-adapter NAME`` collects every applicable check case as an
item (``resize-conformance::<case id>``), so ``-k``, ``-x``, ``--lf``, xdist and JUnit work as
usual. Registered through the ``pytest11`` entry point; inert without ``--resize-adapter``.
"""

import datetime as dt
import tempfile

import pytest

from harness.quiet import apply_defaults

ROOT_NAME = "resize-conformance"


def pytest_addoption(parser):
    g = parser.getgroup("resize-conformance", "resize conformance checks")
    g.addoption("--resize-adapter", metavar="NAME", default=None,
                help="adapter to certify: built-in, entry-point name or module:factory")
    g.addoption("--resize-expected-failures", metavar="FILE", default=None,
                help="TOML manifest of known defects (expected failures)")
    g.addoption("--resize-profile", choices=("dev", "ci", "thorough"), default="ci",
                help="hypothesis profile for property cases (default ci)")
    g.addoption("--resize-seed", type=int, default=0, help="base seed (default 0)")
    g.addoption("--resize-report-dir", metavar="DIR", default=None,
                help="write report.json/report.md of the cases that ran here")
    g.addoption("--resize-baseline", metavar="REPORT", default=None,
                help="fail only on regressions against this report.json")


class _State:
    def __init__(self, config):
        from harness.registry import resolve
        from harness.runner import Runner

        opt = config.getoption
        self.spec = opt("--resize-adapter")
        self.manifest = opt("--resize-expected-failures")
        xfails = ()
        if self.manifest:
            from harness import manifest

            xfails = manifest.for_class(manifest.load(self.manifest), self.spec.split("/", 1)[-1])
        self.runner = Runner(resolve(self.spec), adapter_spec=self.spec, seed=opt("--resize-seed"),
                             profile=opt("--resize-profile"), expected_failures=xfails)
        self.plan = self.runner.plan()
        self.results = {}
        self.tmp_root = tempfile.mkdtemp(prefix="resize-conformance-")
        self.started = dt.datetime.now().astimezone()


def pytest_configure(config):
    config.addinivalue_line("markers", "resize_conformance: a case collected by the resize-conformance plugin")
    if config.getoption("--resize-adapter"):
        apply_defaults()  # quiet TF / transformers start-up unless the user set the variables
        config._resize_state = _State(config)


def pytest_report_header(config):
    state = getattr(config, "_resize_state", None)
    if state is None:
        return None
    from harness.versions import collect_versions

    v = collect_versions()
    applicable = sum(1 for c in state.plan if not c.na_reason)
    return [f"resize-conformance: adapter {state.spec}, {applicable} applicable cases "
            f"({len(state.plan) - applicable} not applicable), profile {state.runner.profile_name}",
            "resize-conformance versions: " + ", ".join(f"{k} {v[k]}" for k in
                                                       ("tensorflow", "tf_keras", "transformers", "harness")),
            f"resize-conformance expected failures: {state.manifest or 'none'}"]


class ResizeSuite(pytest.Collector):
    def collect(self):
        state = self.config._resize_state
        for case in state.plan:
            if not case.na_reason:
                yield ResizeCase.from_parent(self, name=case.id, case=case)


class CaseFailed(Exception):
    def __init__(self, result):
        super().__init__(result.message)
        self.result = result


class ResizeCase(pytest.Item):
    def __init__(self, *, case, **kwargs):
        super().__init__(**kwargs)
        self.case = case
        self.add_marker(pytest.mark.resize_conformance)

    def runtest(self):
        state = self.config._resize_state
        result = state.runner.run_case(self.case, state.tmp_root)
        state.results[self.case.id] = result
        if result.status == "xfailed":
            pytest.xfail(result.message)
        if result.status in ("failed", "error") or (result.status == "xpassed" and result.details.get("strict")):
            raise CaseFailed(result)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, CaseFailed):
            r = excinfo.value.result
            check = self.case.check
            lines = [f"{r.status.upper()}: {r.id}", f"property: {getattr(check, 'property', '')}",
                     f"message: {r.message}"]
            if r.expected is not None or r.observed is not None:
                lines += [f"expected: {r.expected}", f"observed: {r.observed}"]
            for key in ("max_abs_diff", "atol", "rtol", "falsifying_params"):
                if key in (r.details or {}):
                    lines.append(f"{key}: {r.details[key]}")
            if r.reproduce:
                lines.append(f"reproduce: {r.reproduce}")
            return "\n".join(lines)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return ROOT_NAME, None, self.name


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session, config, items):
    if getattr(config, "_resize_state", None) is None:
        return
    suite = ResizeSuite.from_parent(session, name=ROOT_NAME)
    new_items = list(suite.collect())
    # Report the suite like any collected node so "collected N items" and -k counts include it.
    config.hook.pytest_collectreport(report=pytest.CollectReport(suite.nodeid, "passed", None, new_items))
    items.extend(new_items)


def pytest_sessionfinish(session, exitstatus):
    state = getattr(session.config, "_resize_state", None)
    if state is None:
        return
    from harness import gate
    from harness.report import build_report, load_report, write_report
    from harness.results import CaseResult

    ran = [state.results[c.id] if c.id in state.results else
           CaseResult(c.id, c.check.id, c.kind, c.params,
                      "not_applicable" if c.na_reason else "skipped",
                      c.na_reason or "not run: deselected or stopped early") for c in state.plan]
    report = build_report(results=ran, planned_total=len(state.plan), adapter=state.runner.adapter,
                          adapter_spec=state.spec, runner=state.runner, started_at=state.started,
                          finished_at=dt.datetime.now().astimezone(), partial=False,
                          command="pytest --resize-adapter " + state.spec,
                          expected_failures_path=state.manifest)
    baseline = session.config.getoption("--resize-baseline")
    if baseline:
        gate.apply_baseline(report, load_report(baseline), baseline)
    out = session.config.getoption("--resize-report-dir")
    if out:
        write_report(report, out)
    session.config._resize_report = report
    # Fewer cases than the capabilities require, with nothing deselected on purpose, fails the run.
    deselected = len(session.config.pluginmanager.getplugin("terminalreporter").stats.get("deselected", [])) \
        if session.config.pluginmanager.getplugin("terminalreporter") else 0
    if exitstatus == 0 and not deselected and report["summary"]["collected"] < report["summary"]["expected"]:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
