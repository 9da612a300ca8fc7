"""Growth: more rows, old rows untouched, new rows initialised, new ids usable."""

import numpy as np

from harness.checks import check
from harness.compare import expect, expect_close, expect_dtype, expect_ok, expect_shape, fail
from suites._model import as_f64, resized
from suites._params import DTYPE_CASES, GROW_CASES, strategy

DTYPES = ("float32", "float16", "bfloat16")
# Truncated normal at 2 stddev has std = 0.8796 * stddev.
TRUNC_STD_FACTOR = 0.8796




@check("grow.shape", cases=GROW_CASES, strategy=strategy("grow"),
       property="After growing to N rows, the input (and output) matrix is [N, width].",
       why="A wrong row count breaks every lookup of the new tokens or silently drops old ones.")
def grow_shape(ctx, p):
    model, before, after = resized(ctx, p)
    width = before.input.shape[1]
    expect_shape(after.input, [p["new"], width], "input matrix")
    if before.output is not None:
        expect_shape(after.output, [p["new"], before.output.shape[1]], "output matrix")


@check("grow.prefix_preserved", cases=GROW_CASES, strategy=strategy("grow"),
       property="After growing, the first old rows of the input and output matrices are bit-identical.",
       why="Resize must not perturb trained embeddings of the existing vocabulary.")
def grow_prefix(ctx, p):
    model, before, after = resized(ctx, p)
    old = p["old"]
    expect(after.input.shape[0] >= old, "input matrix lost rows",
           expected={"rows_at_least": old}, observed={"rows": after.input.shape[0]})
    expect_close(after.input[:old], before.input, "input matrix rows [0, old)")
    if before.output is not None:
        expect(after.output is not None, "output matrix disappeared after resize")
        expect_close(after.output[:old], before.output, "output matrix rows [0, old)")


@check("grow.new_rows_initialised", cases=GROW_CASES, strategy=strategy("grow"),
       property="New rows are finite, not constant, and on the initializer's scale (|x| <= 2*range).",
       why="Rows padded with -1, zeros or garbage poison training and the logits of new tokens.")
def grow_new_rows(ctx, p):
    model, before, after = resized(ctx, p)
    init_range = ctx.adapter.initializer_range(model)
    mats = [("input", after.input)]
    if after.output is not None and not after.tied:
        mats.append(("output", after.output))
    for what, mat in mats:
        expect(mat.shape[0] == p["new"], f"{what} matrix has {mat.shape[0]} rows after growing to {p['new']}",
               expected={"rows": p["new"]}, observed={"rows": int(mat.shape[0])})
        new_rows = as_f64(mat[p["old"]:p["new"]])
        expect(np.isfinite(new_rows).all(), f"{what} matrix: new rows hold NaN/Inf",
               observed={"nonfinite": int((~np.isfinite(new_rows)).sum())})
        if new_rows.size >= 2:
            expect(np.ptp(new_rows) > 0, f"{what} matrix: new rows are constant ({float(new_rows.flat[0])!r})",
                   observed={"value": float(new_rows.flat[0])}, expected="varied initial values")
        if init_range:
            bound = 2.0 * init_range * 1.01 + 1e-6
            peak = float(np.abs(new_rows).max())
            expect(peak <= bound, f"{what} matrix: new value {peak:.4g} exceeds 2*initializer_range "
                   f"({bound:.4g}) of a truncated normal", expected={"max_abs_at_most": bound},
                   observed={"max_abs": peak})
            if new_rows.size >= 64:
                std = float(new_rows.std())
                target = TRUNC_STD_FACTOR * init_range
                expect(0.6 * target <= std <= 1.4 * target,
                       f"{what} matrix: std of new rows {std:.4g} far from truncated normal's {target:.4g}",
                       expected={"std": target, "tolerance": "x0.6..x1.4"}, observed={"std": std})


@check("grow.dtype_preserved", cases=DTYPE_CASES[:2] + GROW_CASES[:1],
       strategy=strategy("grow", dtypes=DTYPES), essential=("dtype",),
       property="Growing keeps the dtype of the input, output and bias weights.",
       why="A float16/bfloat16 model silently upcast to float32 doubles memory and breaks mixed precision.")
def grow_dtype(ctx, p):
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
def grow_new_ids(ctx, p):
    model, before, after = resized(ctx, p)
    ids = ctx.ids_covering(p["old"], p["new"])
    logits = expect_ok(lambda: ctx.adapter.forward(model, ids), "forward on new ids")
    expect_shape(logits, list(ids.shape) + [p["new"]], "logits")
    expect(np.isfinite(logits).all(), "logits on new ids hold NaN/Inf",
           observed={"nonfinite": int((~np.isfinite(logits)).sum())})
    if logits.shape[-1] != p["new"]:
        fail("logits width", expected=p["new"], observed=logits.shape[-1])
