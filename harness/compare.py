"""Assertions for checks: a failed property raises ``CheckFailure`` carrying the
expected and observed values (shapes, dtypes, max abs diff, tolerance)."""

import numpy as np


class CheckFailure(AssertionError):
    """The property does not hold. ``expected``/``observed``/``details`` are JSON-able."""

    def __init__(self, message, *, expected=None, observed=None, details=None):
        super().__init__(message)
        self.message = message
        self.expected = expected
        self.observed = observed
        self.details = details or {}


def summarize(arr):
    """A small JSON-able description of an array (never the whole array)."""
    if arr is None:
        return None
    a = np.asarray(arr)
    out = {"shape": list(a.shape), "dtype": str(a.dtype)}
    if a.size and a.dtype.kind in "fc" or str(a.dtype) == "bfloat16":
        f = a.astype(np.float64)
        finite = np.isfinite(f)
        out["nonfinite"] = int((~finite).sum())
        if finite.any():
            out.update(min=float(f[finite].min()), max=float(f[finite].max()), mean=float(f[finite].mean()))
    elif a.size <= 16:
        out["values"] = a.tolist()
    return out


def fail(message, *, expected=None, observed=None, **details):
    raise CheckFailure(message, expected=expected, observed=observed, details=details)


def expect(condition, message, *, expected=None, observed=None, **details):
    if not condition:
        fail(message, expected=expected, observed=observed, **details)


def expect_shape(arr, shape, what):
    got = None if arr is None else list(np.shape(arr))
    if got != list(shape):
        fail(f"{what}: shape {got}, expected {list(shape)}", expected={"shape": list(shape)},
             observed={"shape": got})


def expect_dtype(arr, dtype, what):
    got = str(np.asarray(arr).dtype)
    if got != str(dtype):
        fail(f"{what}: dtype {got}, expected {dtype}", expected={"dtype": str(dtype)},
             observed={"dtype": got})


def expect_close(observed, expected, what, *, atol=0.0, rtol=0.0):
    """Arrays equal within ``atol + rtol*|expected|`` (0, 0 = bit-exact values)."""
    obs = np.asarray(observed)
    exp = np.asarray(expected)
    if obs.shape != exp.shape:
        fail(f"{what}: shape {list(obs.shape)}, expected {list(exp.shape)}",
             expected=summarize(exp), observed=summarize(obs))
    o = obs.astype(np.float64)
    e = exp.astype(np.float64)
    same = (np.isnan(o) & np.isnan(e)) | (o == e)  # NaN matches NaN, +-Inf matches itself
    with np.errstate(invalid="ignore"):  # inf - inf; such entries are ``same`` or mismatches anyway
        diff = np.where(same, 0.0, np.abs(o - e))
    diff = np.where(np.isnan(diff), np.inf, diff)
    bound = atol + rtol * np.abs(np.where(np.isfinite(e), e, 0.0))
    bad = diff > bound
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        max_diff = float(diff.max())
        fail(
            f"{what}: {int(bad.sum())} of {bad.size} values differ; max abs diff {max_diff:.3g} "
            f"> tolerance (atol={atol:g}, rtol={rtol:g}); first at index {list(idx)}: "
            f"observed {float(o[idx])!r}, expected {float(e[idx])!r}",
            expected=summarize(exp), observed=summarize(obs),
            max_abs_diff=max_diff, atol=atol, rtol=rtol, mismatches=int(bad.sum()),
            first_mismatch={"index": list(idx), "observed": float(o[idx]), "expected": float(e[idx])},
        )


def expect_raises(fn, what, accept=None):
    """Call ``fn``; fail if it does *not* raise, or (with ``accept``, a tuple of exception types)
    if it raises a type outside ``accept``: only the documented errors count as a rejection.
    Returns the exception."""
    from harness.contract import AdapterContractError

    try:
        result = fn()
    except (AdapterContractError, CheckFailure):
        raise
    except Exception as exc:  # noqa: BLE001 - filtered by ``accept``
        if accept is not None:
            expect_documented(exc, accept, what)
        return exc
    fail(f"{what}: expected an error, but the call returned {type(result).__name__}",
         expected="an exception", observed=f"returned {type(result).__name__}")


def expect_documented(exc, accept, what):
    """Fail unless ``exc`` is an instance of one of the ``accept`` types (the documented errors)."""
    if not isinstance(exc, tuple(accept)):
        names = ", ".join(t.__name__ for t in accept)
        text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        fail(f"{what}: raised {type(exc).__name__} ({text}), not one of the documented errors ({names})",
             expected=f"one of {names}", observed=f"{type(exc).__name__}: {text}")


def expect_ok(fn, what):
    """Call ``fn``; an exception means the property fails (not a harness error)."""
    from harness.contract import AdapterContractError

    try:
        return fn()
    except (CheckFailure, AdapterContractError):
        raise
    except Exception as exc:  # noqa: BLE001
        fail(f"{what} raised {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
             expected="no error", observed=f"{type(exc).__name__}: {str(exc)[:500]}")
