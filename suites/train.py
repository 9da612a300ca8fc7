"""Training after resize: the gradient reaches the new rows."""

import numpy as np

from harness.checks import check
from harness.compare import expect, expect_ok
from suites._params import GROW_CASES, strategy


def _train_ids(ctx, old, new):
    """Every id in [old, new) appears at an input (non-final) position."""
    ids = ctx.ids_covering(old, new, length=5)
    filler = ctx.ids(new, batch=ids.shape[0], length=1, salt=7)
    return np.concatenate([ids, filler], axis=1)


@check("train.gradient_reaches_new_rows", cases=GROW_CASES, strategy=strategy("grow"), requires=("train",),
       property="After growing, one train step on ids using the new tokens changes every new input row "
                "(and every new untied output row).",
       why="New rows that are frozen, detached or not tracked never learn: the new tokens stay random.")
def gradient_reaches_new_rows(ctx, p):
    a = ctx.adapter
    model = ctx.build(p)
    a.resize(model, p["new"])
    in0 = a.read_input_matrix(model).astype(np.float64)
    out0 = a.read_output_matrix(model)
    loss = expect_ok(lambda: a.train_step(model, _train_ids(ctx, p["old"], p["new"])), "train step")
    expect(np.isfinite(loss), f"loss is not finite ({loss})", observed=loss)
    in1 = a.read_input_matrix(model).astype(np.float64)
    unchanged = [i for i in range(p["old"], p["new"]) if np.array_equal(in0[i], in1[i])]
    expect(not unchanged, f"{len(unchanged)} new input rows did not change in a train step that used them",
           expected="every new row updated", observed={"unchanged_rows": unchanged[:20]})
    if out0 is not None and not a.is_tied(model):
        out1 = a.read_output_matrix(model).astype(np.float64)
        out0 = out0.astype(np.float64)
        unchanged = [i for i in range(p["old"], p["new"]) if np.array_equal(out0[i], out1[i])]
        expect(not unchanged, f"{len(unchanged)} new output rows did not change in a train step",
               expected="every new output row updated", observed={"unchanged_rows": unchanged[:20]})
