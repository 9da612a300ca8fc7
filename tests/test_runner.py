"""Runner semantics: error vs failed, not_applicable never a pass, timeouts, expected failures."""

import time

from harness import applicability
from harness.adapter import Capabilities
from harness.adapters.reference import ReferenceAdapter
from harness.checks import Check
from harness.compare import fail
from harness.results import RAN, count
from harness.runner import ExpectedFailure, PlannedCase, Runner, case_id


def _case(func, params=None, requires=(), kind="example", check_id="synthetic.case"):
    chk = Check(check_id, "a property", "a reason", func, (params,) if params else (), None, requires)
    return PlannedCase(case_id(chk.id, params or {}), chk, kind, params or {})


def _run(case, runner=None):
    runner = runner or Runner(ReferenceAdapter(), seed=0, timeout_s=5)
    case.na_reason = applicability.reason_not_applicable(case.check, runner.caps, case.params)
    return runner.run_case(case)


def test_check_that_raises_is_error_not_pass():
    def boom(ctx, p):
        raise RuntimeError("adapter exploded")
    r = _run(_case(boom))
    assert r.status == "error"
    assert "RuntimeError: adapter exploded" in r.message
    assert "traceback" in r.details and r.reproduce


def test_check_failure_is_failed_with_expected_and_observed():
    def bad(ctx, p):
        fail("numbers differ", expected={"x": 1}, observed={"x": 2}, max_abs_diff=1.0)
    r = _run(_case(bad))
    assert r.status == "failed"
    assert r.expected == {"x": 1} and r.observed == {"x": 2} and r.details["max_abs_diff"] == 1.0


def test_missing_capability_is_not_applicable_and_never_runs():
    ran = []

    class NoShrink(ReferenceAdapter):
        def capabilities(self):
            caps = super().capabilities()
            return Capabilities(caps.tie_modes, caps.bias_layouts, caps.dtypes,
                                caps.flags - {"shrink", "save_load"})

    runner = Runner(NoShrink(), seed=0)
    r1 = _run(_case(lambda ctx, p: ran.append(1), requires=("save_load",)), runner)
    r2 = _run(_case(lambda ctx, p: ran.append(1), params={"old": 9, "new": 3}), runner)
    assert (r1.status, r2.status) == ("not_applicable", "not_applicable")
    assert "save_load" in r1.message and "shrink" in r2.message
    assert not ran


def test_unsupported_parameter_is_not_applicable():
    class TiedOnly(ReferenceAdapter):
        def capabilities(self):
            caps = super().capabilities()
            return Capabilities(frozenset({"tied"}), frozenset({"none"}), frozenset({"float32"}), caps.flags)

    runner = Runner(TiedOnly(), seed=0)
    for params in ({"tie": "untied"}, {"bias": "row"}, {"dtype": "float16"}):
        assert _run(_case(lambda ctx, p: None, params=params), runner).status == "not_applicable"


def test_hanging_check_times_out_as_error_and_run_continues():
    runner = Runner(ReferenceAdapter(), seed=0, timeout_s=0.5)
    start = time.perf_counter()
    r = _run(_case(lambda ctx, p: time.sleep(30)), runner)
    assert r.status == "error" and "timed out" in r.message
    assert time.perf_counter() - start < 5


def test_expected_failures_give_xfailed_and_xpassed():
    runner = Runner(ReferenceAdapter(), seed=0,
                    expected_failures=[ExpectedFailure("synthetic.*", "known defect")])
    r_fail = _run(_case(lambda ctx, p: fail("broken")), runner)
    r_pass = _run(_case(lambda ctx, p: None), runner)
    assert r_fail.status == "xfailed" and "known defect" in r_fail.message
    assert r_pass.status == "xpassed" and r_pass.details["strict"] is True


def test_reference_passes_every_check_and_counts_add_up():
    runner = Runner(ReferenceAdapter(), seed=0, profile="dev")
    plan = runner.plan()
    results = runner.run(plan)
    counts = count(results)
    bad = [(r.id, r.status, r.message) for r in results if r.status not in ("passed", "not_applicable")]
    assert not bad, bad
    expected = sum(1 for c in plan if not c.na_reason)
    assert sum(1 for r in results if r.status in RAN) == expected
    assert counts["passed"] >= 40
    assert {r.check for r in results} == {c.id for c in __import__("harness.checks").checks.all_checks()}


def test_selection_and_stable_case_ids():
    runner = Runner(ReferenceAdapter(), select=["grow.shape"])
    ids = [c.id for c in runner.plan()]
    assert ids and all(i.startswith("grow.shape[") for i in ids)
    assert ids == [c.id for c in Runner(ReferenceAdapter(), select=["grow.shape"]).plan()]
    one = Runner(ReferenceAdapter(), select=[ids[0]]).plan()
    assert [c.id for c in one] == [ids[0]]


def test_params_are_fitted_to_a_fixed_layout_model_unless_essential():
    class BertLike(ReferenceAdapter):
        def capabilities(self):
            caps = super().capabilities()
            return Capabilities(frozenset({"tied"}), frozenset({"vector"}), frozenset({"float32"}), caps.flags)

    plan = Runner(BertLike(), select=["grow", "untied", "bias", "tied"]).plan()
    grow = [c for c in plan if c.check.id == "grow.shape" and c.kind == "example"]
    assert grow and all(c.params["tie"] == "tied" and c.params["bias"] == "vector" for c in grow)
    assert all(not c.na_reason for c in grow)
    assert len({c.id for c in plan}) == len(plan)
    untied = [c for c in plan if c.check.id.startswith("untied.")]
    assert untied and all(c.na_reason for c in untied)
    dtype = [c for c in plan if c.check.id == "grow.dtype_preserved" and c.kind == "example"]
    assert all(c.params["dtype"] == "float32" or c.na_reason for c in dtype)
    biased = [c for c in plan if c.check.id == "bias.all_keys_resized" and c.kind == "example"]
    assert biased and all(c.params["bias"] == "vector" and not c.na_reason for c in biased)
