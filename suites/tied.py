"""Tied weights: tied means the same variable, before and after resize, and under training."""

import numpy as np

from harness.checks import check
from harness.compare import expect, expect_close, expect_ok
from suites._model import needs_tie_mode, snapshot
from suites._params import P, strategy

TIED_CASES = (P(8, 9, tie="tied"), P(8, 30, tie="tied", bias="vector"), P(12, 4, tie="tied", bias="multi"))




@check("tied.still_tied", cases=TIED_CASES, strategy=strategy("any", ties=("tied",)),
       requires=("output_embeddings",), applies=needs_tie_mode("tied"), essential=("tie",),
       property="A tied model is still tied after resize: output embeddings are the same variable as the input ones.",
       why="A tie lost during resize doubles the parameters and lets input and output drift apart in training.")
def still_tied(ctx, p):
    a = ctx.adapter
    model = ctx.build(p)
    expect(a.is_tied(model), "the freshly built model is not tied (adapter or build problem)")
    a.resize(model, p["new"])
    after = snapshot(a, model)
    expect(after.tied, "after resize the output embeddings are no longer the same variable as the input ones",
           expected={"tied": True}, observed={"tied": False})
    expect_close(after.output, after.input, "output matrix vs input matrix")


@check("tied.tie_survives_training", cases=TIED_CASES[:2], strategy=strategy("grow", ties=("tied",)),
       requires=("output_embeddings", "train"), applies=needs_tie_mode("tied"), essential=("tie",),
       property="After resize and a train step, a tied model's input and output matrices are still identical.",
       why="Behavioural proof of the tie: a copy that merely looks equal diverges after one optimizer step.")
def tie_survives_training(ctx, p):
    a = ctx.adapter
    model = ctx.build(p)
    a.resize(model, p["new"])
    before = a.read_input_matrix(model).copy()
    ids = ctx.ids_covering(0, p["new"])
    loss = expect_ok(lambda: a.train_step(model, ids), "train step after resize")
    expect(np.isfinite(loss), f"train step loss is not finite ({loss})")
    inp, out = a.read_input_matrix(model), a.read_output_matrix(model)
    expect(not np.array_equal(before, inp), "the train step did not change the input matrix at all")
    expect_close(out, inp, "output matrix vs input matrix after a train step (tied)")
