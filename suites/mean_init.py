"""Mean-resizing: exactly ``new`` rows, new rows drawn from the old rows' mean and covariance
scaled by the spec's ``covariance_scale`` (reference/mean_init.py: 1e-9, as transformers 4.57),
statistics in float32, the mean itself when the covariance is not positive definite, no NaN,
deterministic under a seed; new bias entries are the old entries' mean.

The checks write their own old rows first (``assign``, verified by reading them back): a
non-zero mean per column (input and untied output differ) so that an ordinary zero-mean init,
or the wrong matrix's statistics, cannot pass by luck.
"""

import numpy as np
from hypothesis import strategies as st

from harness.checks import check
from harness.compare import expect, expect_close, expect_ok, expect_shape, fail
from harness.conditioning import PreconditionError
from reference.mean_init import COVARIANCE_SCALE
from suites._model import as_f64, snapshot
from suites._params import P, draw_model

REQUIRES = ("mean_resizing", "assign_weights")
DTYPES = ("float32", "bfloat16", "float16")
EPS = {"float32": 2.0**-23, "bfloat16": 2.0**-7, "float16": 2.0**-10}
BIASED = ("vector", "row", "multi")
# Two-sided chi-square acceptance for the new rows' covariance: p = 1e-6 (normal quantile 4.89).
Z_ALPHA = 4.89

NEAR_CASES = (
    P(40, 48, width=4, tie="untied", bias="vector"),
    P(40, 44, width=4, tie="untied", dtype="float16", offset=2000.0),  # a float16 sum overflows
    P(20, 30, width=4, tie="untied", bias="row", dtype="bfloat16"),
)
FALLBACK_CASES = (
    P(3, 7, width=8, tie="untied", bias="vector"),                    # fewer rows than the width
    P(6, 9, width=4, tie="untied", dtype="float16", identical=True),  # rank 0: identical rows
    P(1, 4, width=4, tie="untied"),                                   # a single row
)
BIAS_CASES = (P(12, 20, bias="vector", dtype="bfloat16"), P(12, 15, tie="untied", bias="multi", width=3))


def _strategy(data, caps):
    """Any growth."""
    old = data.draw(st.integers(2, 40), label="old")
    params = {"old": old, "new": data.draw(st.integers(old + 1, old + 12), label="new")}
    params.update(draw_model(data, caps, dtypes=DTYPES))
    params["width"] = data.draw(st.integers(1, 6), label="width")
    return params


def _singular_strategy(data, caps):
    """Growth from rows whose covariance is singular: at most width rows, or identical rows."""
    params = draw_model(data, caps, dtypes=DTYPES)
    params["width"] = width = data.draw(st.integers(2, 8), label="width")
    identical = data.draw(st.booleans(), label="identical")
    params["old"] = old = data.draw(st.integers(1, 12 if identical else width), label="old")
    params["new"] = data.draw(st.integers(old + 1, old + 8), label="new")
    if identical:
        params["identical"] = True
    return params


def _has_bias_layout(caps, params):
    return None if set(BIASED) & set(caps.bias_layouts) else "adapter has no LM-head bias"


def _prepare(ctx, p):
    """Build, then write old rows with known non-zero column means (and a bias) into the model.
    The build is not conditioned: every value the checks read is written (and verified) here."""
    a = ctx.adapter
    model = ctx.build(p, condition=False)
    rng = ctx.rng(7)
    # The built width: an adapter may build the next width its architecture allows (ModelSpec.width
    # is a hint), e.g. 4 for 3 when rotary embeddings need an even head size.
    width = int(np.shape(a.read_input_matrix(model))[1])
    old, offset = p["old"], float(p.get("offset", 1.0))
    steps = np.arange(width) / max(width, 1)

    def rows(mean):
        if p.get("identical"):
            return np.tile(mean + 0.1 * offset * rng.standard_normal(width), (old, 1))
        return mean + 0.1 * offset * rng.standard_normal((old, width))

    written = {"input": rows(offset * (1.0 + 0.5 * steps))}
    handles = a.handles(model)
    if "output" in handles and handles["output"] is not handles["input"]:
        written["output"] = rows(-offset * (1.0 + 0.3 * steps))
    for key, value in sorted((a.read_bias(model) or {}).items()):  # read-back shapes: a live variable's may be unknown
        written["bias:" + key] = 0.5 * offset + 0.05 * offset * rng.standard_normal(np.shape(value))
    for which, values in written.items():
        a.assign(model, which, values.astype(np.float32))
    _expect_written(a, model, p, written)
    return model


def _expect_written(a, model, p, written):
    """The rows the checks rely on are really in the model (else the check would judge the build)."""
    got = snapshot(a, model)
    read = {"input": got.input, "output": got.output, **{"bias:" + k: v for k, v in (got.bias or {}).items()}}
    eps = EPS.get(p["dtype"], 2.0**-7)
    for which, values in written.items():
        have = read.get(which)
        if have is None or np.shape(have) != np.shape(values) or \
                not np.allclose(as_f64(have), values, rtol=eps, atol=1e-6):
            raise PreconditionError(f"precondition not established: assign('{which}') did not write the "
                                    "old rows the mean-resize checks need")


def _mean_resized(ctx, p, seed=0):
    a = ctx.adapter
    model = _prepare(ctx, p)
    before = snapshot(a, model)
    expect_ok(lambda: a.resize_mean(model, p["new"], seed), f"mean-resize {p['old']} -> {p['new']}")
    after = snapshot(a, model)
    n = p["new"]
    expect_shape(after.input, [n, before.input.shape[1]], "input matrix after the mean-resize")
    if before.output is not None:
        expect_shape(after.output, [n, before.output.shape[1]], "output matrix after the mean-resize")
    for key, value in (before.bias or {}).items():
        expect_shape((after.bias or {}).get(key), list(np.shape(value))[:-1] + [n],
                     f"bias '{key}' after the mean-resize")
    return model, before, after


def _matrices(before, after):
    """(what, old rows, new rows) for the input and an untied output matrix."""
    out = [("input", as_f64(before.input), as_f64(after.input))]
    if before.output is not None and not before.tied:
        out.append(("output", as_f64(before.output), as_f64(after.output)))
    return [(w, old, new[len(old):]) for w, old, new in out]


def _finite(what, rows):
    expect(np.isfinite(rows).all(), f"{what}: new rows hold NaN/Inf",
           observed={"nonfinite": int((~np.isfinite(rows)).sum())}, expected="finite values")


@check("mean_init.new_rows_near_mean", cases=NEAR_CASES, strategy=_strategy, requires=REQUIRES,
       property="Mean-resized matrices have exactly `new` rows; the new rows are finite, within "
                "6 sqrt(scale) sigma (+ dtype rounding) of the old rows' mean, their column means within "
                "6 sqrt(scale) sigma/sqrt(k), and (float32, positive definite) their covariance is "
                "scale x the old rows' covariance by a p=1e-6 chi-square test (scale = 1e-9, the spec's).",
       why="Rows far from the old distribution (a zero-mean init, the other matrix's statistics, "
           "unscaled noise) make new tokens dominate or vanish from the softmax.")
def new_rows_near_mean(ctx, p):
    model, before, after = _mean_resized(ctx, p)
    eps = EPS.get(p["dtype"], 2.0**-7)
    for what, old, new in _matrices(before, after):
        _finite(what, new)
        mu, sigma, k = old.mean(0), old.std(0), len(new)
        spread = np.sqrt(COVARIANCE_SCALE) * sigma  # the new rows' std per column, by the spec
        # storage rounding of the new values, plus the float32 statistics (mean of `old` rows)
        rounding = (eps + 2.0**-23 * np.sqrt(len(old))) * (np.abs(mu) + 6 * spread) + 1e-12
        dev = np.abs(new - mu).max(0)
        bound = 6 * spread + rounding
        far = dev > bound
        if far.any():
            j = int(np.argmax(far))
            fail(f"{what}: a new value in column {j} is {dev[j]:.4g} from the old mean, bound {bound[j]:.4g} = "
                 f"6 x {np.sqrt(COVARIANCE_SCALE):.3g} x the old std {sigma[j]:.4g} (+ rounding): the noise is not "
                 f"the old rows' covariance scaled by {COVARIANCE_SCALE:g}",
                 expected={"max_deviation": bound.tolist()}, observed={"max_deviation": dev.tolist()})
        if p["dtype"] == "float32":
            _expect_covariance_scale(what, old, new, mu)
        got = new.mean(0)
        tol = 6 * spread / np.sqrt(k) + rounding
        bad = np.abs(got - mu) > tol
        if bad.any():
            j = int(np.argmax(bad))
            fail(f"{what}: mean of the {k} new rows in column {j} is {got[j]:.9g}, old mean {mu[j]:.9g} "
                 f"(tolerance {tol[j]:.3g} = 6 sqrt(scale) sigma/sqrt(k) + rounding)",
                 expected={"mean": mu.tolist(), "tolerance": tol.tolist()}, observed={"mean": got.tolist()})


def chi_square_bounds(dof, z=Z_ALPHA):
    """Two-sided chi-square acceptance interval (Wilson-Hilferty; the lower end clamps at 0)."""
    c = 2.0 / (9.0 * dof)
    return (dof * max(0.0, 1 - c - z * np.sqrt(c)) ** 3, dof * (1 - c + z * np.sqrt(c)) ** 3)


def _expect_covariance_scale(what, old, new, mu):
    """Whitened by scale x S, the k new rows are k*H standard normals: their sum of squares is
    chi-square with k*H degrees of freedom. Only when S is clearly positive definite (else the
    spec's fallback, the mean itself, applies and the bound above already holds)."""
    if len(old) <= old.shape[1]:
        return
    lam, vectors = np.linalg.eigh(np.cov(old, rowvar=False, bias=True).reshape(old.shape[1], old.shape[1]))
    if not lam.min() > 1e-3 * lam.max():
        return
    z = (new - mu) @ vectors / np.sqrt(COVARIANCE_SCALE * lam)
    stat, dof = float((z**2).sum()), z.size
    low, high = chi_square_bounds(dof)
    if not low <= stat <= high:
        fail(f"{what}: the {len(new)} new rows' covariance is {stat / dof:.3g} x the expected {COVARIANCE_SCALE:g} x "
             f"the old rows' covariance (chi-square {stat:.4g} on {dof} dof, accepted [{low:.3g}, {high:.3g}] "
             "at p=1e-6)", expected={"chi_square": [low, high], "covariance_scale": COVARIANCE_SCALE},
             observed={"chi_square": stat, "ratio": stat / dof})


# P(17, 24, width=3): rows > 4*width whether the adapter builds it 3 or 4 wide (ModelSpec.width is a hint)
@check("mean_init.sampled_not_constant", cases=(P(40, 44, width=4, tie="untied"), P(17, 24, width=3)),
       requires=REQUIRES, essential=("dtype",),
       property="In float32, when the old rows' covariance is positive definite (rows > 4*width), new rows "
                "are distinct samples, not one repeated vector.",
       why="Mean-resizing samples around the mean so new tokens are distinguishable; identical rows get "
           "identical gradients and never separate.")
def sampled_not_constant(ctx, p):
    model, before, after = _mean_resized(ctx, p)
    for what, _old, new in _matrices(before, after):
        _finite(what, new)
        expect(np.ptp(new, axis=0).max() > 0, f"{what}: all {len(new)} new rows are the same vector "
               "although the covariance is positive definite", observed={"row": new[0].tolist()},
               expected="distinct samples")


@check("mean_init.fallback_is_mean", cases=FALLBACK_CASES, requires=REQUIRES,
       strategy=_singular_strategy, essential=("dtype",),
       property="When the covariance is not positive definite (rows <= width, identical rows, one row), "
                "every new row is the old rows' mean (float32 statistics, cast), never NaN.",
       why="A Cholesky of a singular covariance yields NaN rows; a half-precision sum overflows or rounds.")
def fallback_is_mean(ctx, p):
    model, before, after = _mean_resized(ctx, p)
    eps = EPS.get(p["dtype"], 2.0**-7)
    for what, old, new in _matrices(before, after):
        _finite(what, new)
        mu = old.mean(0)
        expect_close(new, np.broadcast_to(mu, new.shape), f"{what}: new rows vs the old rows' mean",
                     atol=1e-6, rtol=2 * eps + 4 * 2.0**-23)


@check("mean_init.deterministic_under_seed",
       cases=(P(30, 36, width=3, tie="untied", bias="vector"), P(9, 10, width=2)),
       requires=REQUIRES, essential=("dtype",),
       property="The same seed gives bit-identical new rows; another seed gives other rows (PD case).",
       why="A resize that cannot be reproduced cannot be debugged, and CI results flip between runs.")
def deterministic_under_seed(ctx, p):
    first, again, other = (_mean_resized(ctx, p, seed=s)[2].input[p["old"]:] for s in (5, 5, 6))
    expect_close(again, first, "new input rows of two resizes with the same seed")
    expect(not np.array_equal(first, other), "seeds 5 and 6 gave identical new rows: the seed is ignored "
           "or nothing is sampled", expected="different rows", observed="identical rows")


@check("mean_init.bias_mean", cases=BIAS_CASES, requires=REQUIRES, essential=("bias",), applies=_has_bias_layout,
       property="With mean-resizing, old bias entries are kept and new entries equal the mean of the old "
                "entries along the last axis.",
       why="A zero bias for new tokens next to trained biases around 0.5 skews their probabilities.")
def bias_mean(ctx, p):
    model, before, after = _mean_resized(ctx, p)
    if not before.bias:
        raise PreconditionError(f"precondition not established: a model built with bias layout '{p['bias']}' "
                                "has no bias to mean-resize")
    eps = EPS.get(p["dtype"], 2.0**-7)
    for key, old in before.bias.items():
        new = as_f64(after.bias[key])
        old = as_f64(old)
        expect_close(new[..., : p["old"]], old, f"bias '{key}' old entries")
        added = new[..., p["old"]:]
        _finite(f"bias '{key}'", added)
        mean = old.mean(-1, keepdims=True)
        expect_close(added, np.broadcast_to(mean, added.shape), f"bias '{key}' new entries vs the old mean",
                     atol=1e-6, rtol=2 * eps + 4 * 2.0**-23)
