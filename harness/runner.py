"""Run checks against an adapter: plan the cases, run each with a timeout, and
return one ``CaseResult`` per (check, parameter set)."""

import contextlib
import copy
import dataclasses
import fnmatch
import shlex
import shutil
import tempfile
import time
import traceback
import zlib

from hypothesis import Phase, given, settings
from hypothesis import seed as hyp_seed
from hypothesis import strategies as st
from hypothesis.errors import HypothesisException

from harness import applicability, checks, profiles
from harness.compare import CheckFailure
from harness.conditioning import PreconditionError
from harness.context import CheckContext, Scenarios
from harness.contract import AdapterContractError, CheckedAdapter
from harness.manifest import ExpectedFailure  # noqa: F401 - defined with the manifests; worker, api use it
from harness.results import CaseResult
from harness.scenario import as_scenario


@dataclasses.dataclass
class PlannedCase:
    id: str
    check: object
    kind: str
    params: object
    na_reason: object = None


def case_id(check_id, params):
    if params is None:
        return f"{check_id}[property]"
    return f"{check_id}[{','.join(f'{k}={params[k]}' for k in sorted(params))}]"


def matches_selection(case, patterns):
    if not patterns:
        return True
    for p in patterns:
        if p in (case.id, case.check.id, case.check.family) or fnmatch.fnmatchcase(case.check.id, p):
            return True
    return False


def default_adapter_spec(adapter):
    """A name ``resolve()`` accepts: the built-in name, else ``module:Class``."""
    from harness.registry import BUILTINS

    cls = type(adapter)
    target = f"{cls.__module__}:{cls.__qualname__}"
    name = getattr(adapter, "name", None)
    if name in BUILTINS and BUILTINS[name] == target:
        return name
    return target


_PLAIN = (str, int, float, bool, type(None))


def _plain(value, depth=0):
    """A comparable copy of plain data (dict/list/tuple/set of scalars); None for anything else."""
    if isinstance(value, _PLAIN):
        return value
    if depth > 4:
        return None
    if isinstance(value, dict):
        return {repr(k): _plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, depth + 1) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(repr(v) for v in value)
    return None


def shared_state_value(value):
    return _plain(value) is not None


def shared_state(adapter):
    """The adapter's public plain-data attributes: what every case shares through the adapter."""
    return {k: _plain(v) for k, v in vars(adapter).items() if not k.startswith("_")} \
        if hasattr(adapter, "__dict__") else {}


class CaseTimeout(Exception):
    pass


_EXECUTOR = {"pool": None, "direct": False}


def run_on_calling_thread(flag):
    """Run checks on the calling thread, without a timeout (for profiling); returns the old setting."""
    old, _EXECUTOR["direct"] = _EXECUTOR["direct"], bool(flag)
    return old


def _call_with_timeout(fn, timeout_s):
    """Run ``fn`` on the (reused) check thread; raise CaseTimeout if it is not done in time.

    One long-lived thread, not one per case: hypothesis sets up per-thread state (and a full
    ``gc.collect()``) for every new thread. A timed-out thread is abandoned and replaced.
    """
    import concurrent.futures

    if _EXECUTOR["direct"]:
        return fn()
    if _EXECUTOR["pool"] is None:
        _EXECUTOR["pool"] = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="resize-check")
    future = _EXECUTOR["pool"].submit(fn)
    try:
        return future.result(timeout=timeout_s)
    except concurrent.futures.TimeoutError:
        _EXECUTOR["pool"].shutdown(wait=False, cancel_futures=True)
        _EXECUTOR["pool"] = None
        raise CaseTimeout(f"timed out after {timeout_s:g}s (the check thread was abandoned)") from None


class Runner:
    def __init__(self, adapter, *, adapter_spec=None, seed=0, profile=profiles.DEFAULT_PROFILE,
                 timeout_s=300.0, select=(), expected_failures=(), on_result=None, shrink=True,
                 workdir=None):
        self.adapter = adapter
        self.adapter_spec = adapter_spec or default_adapter_spec(adapter)
        self.caps = adapter.capabilities()
        self.seed = int(seed)
        self.profile_name = profile
        self.profile = profiles.get(profile)
        if not shrink:
            self.profile = profiles.without_shrinking(self.profile)
        self.timeout_s = float(timeout_s)
        self.select = tuple(select or ())
        self.expected_failures = tuple(expected_failures)
        self.on_result = on_result
        self.workdir = workdir
        self.scenarios = Scenarios(self.seed)  # shared by this runner's cases (examples and drawn ones)
        self.stop_requested = False

    # -- planning ---------------------------------------------------------------
    def plan(self):
        planned = []
        for chk in checks.all_checks():
            param_sets = [("example", dict(p)) for p in chk.cases]
            if chk.strategy is not None:
                param_sets.append(("property", None))
            seen = set()
            for kind, params in param_sets:
                params = applicability.fit_params(chk, self.caps, params)
                case = PlannedCase(case_id(chk.id, params), chk, kind, params)
                if case.id in seen or not matches_selection(case, self.select):
                    continue
                seen.add(case.id)
                case.na_reason = applicability.reason_not_applicable(chk, self.caps, params)
                planned.append(case)
        return planned

    def reproduce_command(self, case):
        return (f"resize-conformance run --adapter {shlex.quote(self.adapter_spec)} "
                f"--select {shlex.quote(case.id)} --seed {self.seed} --profile {self.profile_name}")

    def case_seed(self, case):
        return (self.seed * 1_000_003 + zlib.crc32(case.id.encode())) % (2**32)

    def draw_seed(self, case):
        """The hypothesis seed of a property case. Checks whose strategy carries the same ``key``
        (``suites._params.strategy``) draw the same examples, so the observers among them share
        each example's scenario (one build and resize, observed by every such check); a strategy
        without a key draws from the case's own seed."""
        key = getattr(case.check.strategy, "key", None)
        if key is None:
            return self.case_seed(case)
        return (self.seed * 1_000_003 + zlib.crc32(f"draw:{key!r}".encode())) % (2**32)

    # -- running ----------------------------------------------------------------
    def run(self, plan=None):
        plan = self.plan() if plan is None else plan
        tmp_root = tempfile.mkdtemp(prefix="resize-conformance-", dir=self.workdir)
        results = []
        try:
            for case in plan:
                if self.stop_requested:
                    result = CaseResult(case.id, case.check.id, case.kind, case.params, "skipped",
                                        "not run: the run was interrupted")
                else:
                    result = self.run_case(case, tmp_root)
                results.append(result)
                if self.on_result:
                    self.on_result(result, len(results), len(plan))
        finally:
            shutil.rmtree(tmp_root, ignore_errors=True)
        return results

    def run_case(self, case, tmp_root=None):
        if case.na_reason:
            return CaseResult(case.id, case.check.id, case.kind, case.params, "not_applicable",
                              case.na_reason)
        ctx = CheckContext(CheckedAdapter(self.adapter), self.caps, self.case_seed(case), workdir=tmp_root,
                           scenarios=self.scenarios)
        drawn = {}
        before = shared_state(self.adapter)
        saved = {k: copy.deepcopy(v) for k, v in vars(self.adapter).items()
                 if not k.startswith("_") and shared_state_value(v)} if hasattr(self.adapter, "__dict__") else {}
        start = time.perf_counter()
        timed_out = False
        try:
            if case.kind == "property":
                _call_with_timeout(lambda: self._run_property(case, ctx, drawn), self.timeout_s)
            else:
                ctx.begin_example(case.params)
                _call_with_timeout(lambda: case.check.func(ctx, as_scenario(case.params)), self.timeout_s)
            status, message, extra = "passed", "", {}
        except CheckFailure as exc:
            status, message = "failed", exc.message
            extra = {"expected": exc.expected, "observed": exc.observed, "details": dict(exc.details)}
        except AssertionError as exc:
            status, message, extra = "failed", str(exc) or "assertion failed", {}
        except CaseTimeout as exc:
            status, message, extra = "error", str(exc), {}
            timed_out = True
        except AdapterContractError as exc:
            status, message, extra = "error", f"adapter contract violation: {exc}", {}
        except PreconditionError as exc:
            status, message, extra = "error", str(exc), {}
        except Exception as exc:  # noqa: BLE001 - an error is a result, not a crash
            status = "error"
            message = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
            tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
            extra = {"details": {"traceback": "".join(tb)[-4000:]}}
            if isinstance(exc, HypothesisException):
                message = f"hypothesis: {message}"
        duration = time.perf_counter() - start
        if not timed_out:  # an abandoned check thread may still use its models: none recycled
            with contextlib.suppress(Exception):
                ctx.release()
        after = shared_state(self.adapter)
        if after != before:
            changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
            for key in changed:  # restore, so later cases are unaffected
                if key in saved:
                    setattr(self.adapter, key, copy.deepcopy(saved[key]))
            status = "error"
            message = (f"the adapter changed its shared state during this case (attribute(s) "
                       f"{', '.join(changed)}: {before.get(changed[0])!r} -> {after.get(changed[0])!r}); "
                       "restored for the next cases")
        details = extra.get("details") or {}
        params = case.params
        if case.kind == "property":
            details["profile"] = self.profile_name
            details["max_examples"] = self.max_examples()
            details["shrink"] = self.shrinks()
            if drawn and status in ("failed", "error"):
                params = dict(drawn)  # the last (minimal) example hypothesis ran
                details["falsifying_params"] = dict(drawn)
        result = CaseResult(case.id, case.check.id, case.kind, params, status, message,
                            round(duration, 4), extra.get("expected"), extra.get("observed"),
                            details, seed=ctx.seed)
        if status in ("failed", "error"):
            result.reproduce = self.reproduce_command(case)
        return self._apply_expected_failures(result)

    def _run_property(self, case, ctx, drawn):
        chk = case.check

        @self._settings()
        @hyp_seed(self.draw_seed(case))
        @given(st.data())
        def prop(data):
            params = as_scenario(chk.strategy(data, self.caps))
            drawn.clear()
            drawn.update(params)
            ctx.begin_example(params)
            chk.func(ctx, params)

        try:
            prop()
        except CheckFailure as exc:
            notes = getattr(exc, "__notes__", [])
            if notes:
                exc.details["hypothesis_notes"] = list(notes)
            if drawn:
                example = ", ".join(f"{k}={v}" for k, v in drawn.items())
                exc.message += f" (falsifying example: {example})"
            raise

    def max_examples(self):
        """Examples per property case: the profile's, capped by the adapter's own limit."""
        limit = getattr(self.adapter, "property_examples", lambda _p: None)(self.profile_name)
        n = self.profile.max_examples
        return n if limit is None else max(1, min(n, int(limit)))

    def shrinks(self):
        return Phase.shrink in self.profile.phases and getattr(self.adapter, "shrink_failures", True)

    def _settings(self):
        n = self.max_examples()
        out = self.profile if n == self.profile.max_examples else settings(self.profile, max_examples=n)
        return out if self.shrinks() else profiles.without_shrinking(out)

    def _apply_expected_failures(self, result):
        for xf in self.expected_failures:
            if xf.matches(result.id, result.check):
                if result.status in ("failed", "error"):  # a documented defect may raise
                    result.details["status_without_manifest"] = result.status
                    result.status = "xfailed"
                    result.message = f"expected failure ({xf.reason}): {result.message}"
                elif result.status == "passed":
                    result.status = "xpassed"
                    result.message = f"expected to fail ({xf.reason}) but passed"
                    result.details["strict"] = xf.strict
                break
        return result
