"""Growth: more rows, old rows untouched, new rows initialised, new ids usable."""

import numpy as np

from harness.checks import check
from harness.compare import expect, expect_close, expect_dtype, expect_ok, expect_shape
from suites._model import as_f64, fresh_build, resized, snapshot
from suites._params import DTYPE_CASES, GROW_CASES, strategy

DTYPES = ("float32", "float16", "bfloat16")
SCALE_Z = 6.0  # standard errors allowed between new rows and a fresh build (see expect_scale_of_fresh_build)


@check("grow.shape", cases=GROW_CASES, strategy=strategy("grow"),
       property="After growing to N rows, the input (and output) matrix is [N, width].",
       why="A wrong row count breaks every lookup of the new tokens or silently drops old ones.")
def shape(ctx, p):
    model, before, after = resized(ctx, p)
    width = before.input.shape[1]
    expect_shape(after.input, [p["new"], width], "input matrix")
    if before.output is not None:
        expect_shape(after.output, [p["new"], before.output.shape[1]], "output matrix")


@check("grow.prefix_preserved", cases=GROW_CASES, strategy=strategy("grow"),
       property="After growing, the first old rows of the input and output matrices are bit-identical.",
       why="Resize must not perturb trained embeddings of the existing vocabulary.")
def prefix_preserved(ctx, p):
    model, before, after = resized(ctx, p)
    old = p["old"]
    expect(after.input.shape[0] >= old, "input matrix lost rows",
           expected={"rows_at_least": old}, observed={"rows": after.input.shape[0]})
    expect_close(after.input[:old], before.input, "input matrix rows [0, old)")
    if before.output is not None:
        expect(after.output is not None, "output matrix disappeared after resize")
        expect_close(after.output[:old], before.output, "output matrix rows [0, old)")


@check("grow.new_rows_initialised", cases=GROW_CASES, strategy=strategy("grow"),
       property="New rows are finite, varied, and at the scale the library builds that matrix with: their std "
                "and mean match the same matrix of a freshly built model of the new size, within the factor "
                "the sample sizes justify.",
       why="Rows padded with -1, zeros, garbage or drawn at the wrong scale poison training and the logits of "
           "new tokens; a resize that agrees with its own config value can still disagree with the model.")
def new_rows_initialised(ctx, p):
    model, before, after = resized(ctx, p)
    fresh = snapshot(ctx.adapter, fresh_build(ctx, p, p["new"]))
    mats = [("input", after.input, fresh.input)]
    if after.output is not None and not after.tied:
        mats.append(("output", after.output, fresh.output))
    for what, mat, built in mats:
        expect(mat.shape[0] == p["new"], f"{what} matrix has {mat.shape[0]} rows after growing to {p['new']}",
               expected={"rows": p["new"]}, observed={"rows": int(mat.shape[0])})
        new_rows = as_f64(mat[p["old"]:p["new"]])
        expect(np.isfinite(new_rows).all(), f"{what} matrix: new rows hold NaN/Inf",
               observed={"nonfinite": int((~np.isfinite(new_rows)).sum())})
        if new_rows.size >= 2:
            expect(np.ptp(new_rows) > 0, f"{what} matrix: new rows are constant ({float(new_rows.flat[0])!r})",
                   observed={"value": float(new_rows.flat[0])}, expected="varied initial values")
        expect_scale_of_fresh_build(new_rows, as_f64(built), f"{what} matrix")


def expect_scale_of_fresh_build(new_rows, built, what):
    """``new_rows`` drawn at the scale of ``built`` (the same matrix in a fresh build of the new size).

    The std ratio must lie within ``exp(+-Z * se)``, ``se`` the standard error of a log standard
    deviation from ``n`` and ``m`` values (``sqrt(1/(2(n-1)) + 1/(2(m-1)))``), and the mean within
    ``Z`` standard errors; Z = 6 makes a false alarm on a correct draw practically impossible.
    """
    n, m = new_rows.size, built.size
    if n < 2 or m < 2:
        return
    built_std, built_mean = float(built.std(ddof=1)), float(built.mean())
    if built_std == 0.0:
        expect(np.all(new_rows == built_mean), f"{what}: the library builds this matrix constant "
               f"({built_mean:.4g}) but the new rows differ", expected={"value": built_mean},
               observed={"min": float(new_rows.min()), "max": float(new_rows.max())})
        return
    std, mean = float(new_rows.std(ddof=1)), float(new_rows.mean())
    factor = float(np.exp(SCALE_Z * np.sqrt(1.0 / (2 * (n - 1)) + 1.0 / (2 * (m - 1)))))
    ratio = std / built_std
    expect(1.0 / factor <= ratio <= factor,
           f"{what}: new rows' std {std:.4g} is {ratio:.3g}x the std of the same matrix in a fresh build "
           f"({built_std:.4g}); allowed x{1 / factor:.3g}..x{factor:.3g} for {n} new values",
           expected={"std": built_std, "ratio_within": [1.0 / factor, factor]},
           observed={"std": std, "ratio": ratio, "values": n})
    bound = SCALE_Z * built_std * np.sqrt(1.0 / n + 1.0 / m)
    expect(abs(mean - built_mean) <= bound,
           f"{what}: new rows' mean {mean:.4g} is {abs(mean - built_mean) / built_std:.3g} stds from the fresh "
           f"build's mean {built_mean:.4g} (allowed {bound:.4g} for {n} new values)",
           expected={"mean": built_mean, "tolerance": bound}, observed={"mean": mean})


@check("grow.dtype_preserved", cases=DTYPE_CASES[:2] + GROW_CASES[:1],
       strategy=strategy("grow", dtypes=DTYPES), essential=("dtype",),
       property="Growing keeps the dtype of the input, output and bias weights.",
       why="A float16/bfloat16 model silently upcast to float32 doubles memory and breaks mixed precision.")
def dtype_preserved(ctx, p):
    model, before, after = resized(ctx, p)
    expect_dtype(after.input, before.input.dtype, "input matrix")
    expect_dtype(after.input, p["dtype"], "input matrix")
    if before.output is not None:
        expect_dtype(after.output, before.output.dtype, "output matrix")
    for key, value in (before.bias or {}).items():
        expect(after.bias is not None and key in after.bias, f"bias '{key}' missing after resize")
        expect_dtype(after.bias[key], value.dtype, f"bias '{key}'")


@check("grow.new_ids_usable", cases=GROW_CASES, strategy=strategy("grow"),
       property="After growing, a forward pass on ids in [old, new) works and gives finite [B, T, new] logits.",
       why="The point of growing is to use the new tokens; a stale size check or short head breaks them.")
def new_ids_usable(ctx, p):
    model, before, after = resized(ctx, p)
    ids = ctx.ids_covering(p["old"], p["new"])
    logits = expect_ok(lambda: ctx.adapter.forward(model, ids), "forward on new ids")
    expect_shape(logits, list(ids.shape) + [p["new"]], "logits")
    expect(np.isfinite(logits).all(), "logits on new ids hold NaN/Inf",
           observed={"nonfinite": int((~np.isfinite(logits)).sum())})
