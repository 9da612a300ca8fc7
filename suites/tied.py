"""Tied weights: tied means the same variable, before and after resize, and under training.

The read-back of a tied model's output is the input variable itself, so the values are never
compared with each other: the tie is proven by behaviour (``suites._tie_probe``: logit ``j``
moves with input row ``j``) and by training (a token absent from the batch still gets the
head's gradient on its input row).
"""

import numpy as np
from hypothesis import assume

from harness.checks import check
from harness.compare import expect, expect_ok
from suites._model import needs_tie_mode, resized
from suites._params import P, strategy
from suites._tie_probe import expect_head_reads_input

TIED_CASES = (P(8, 9, tie="tied"), P(8, 30, tie="tied", bias="vector"), P(12, 4, tie="tied", bias="multi"))


def _strategy(direction, min_width=1):
    """Tied draws with ``new >= 2`` (the probes need a token absent from the ids) and, for the
    training probe, ``width >= min_width``: at width 1 a LayerNorm after the embedding (or before
    the head) outputs a constant, so no gradient reaches any row whatever the tie."""
    draw_params = strategy(direction, ties=("tied",))

    def draw(data, caps):
        params = draw_params(data, caps)
        assume(params["new"] >= 2 and params.get("width", min_width) >= min_width)
        return params

    return draw


@check("tied.still_tied", cases=TIED_CASES, strategy=_strategy("any"),
       requires=("output_embeddings",), applies=needs_tie_mode("tied"), essential=("tie",),
       property="A tied model is still tied after resize: output embeddings are the same variable as the input "
                "ones, and (with assign_weights) the head computes with that variable: moving input row j moves "
                "logit j linearly and no other logit.",
       why="A tie lost during resize doubles the parameters and lets input and output drift apart in training.")
def still_tied(ctx, p):
    model, before, after = resized(ctx, p)
    expect(before.tied, "the freshly built model is not tied (adapter or build problem)")
    expect(after.tied, "after resize the output embeddings are no longer the same variable as the input "
           "ones", expected={"tied": True}, observed={"tied": False})
    expect_head_reads_input(ctx, model, p["new"], "after the resize")


@check("tied.tie_survives_training", cases=TIED_CASES[:2], strategy=_strategy("grow", min_width=2),
       requires=("output_embeddings", "train"), applies=needs_tie_mode("tied"), essential=("tie",),
       property="After resize, a train step on ids without the last token N-1 updates input row N-1 (only the "
                "tied head's softmax gradient reaches it) as well as the rows of the ids.",
       why="Behavioural proof of the tie: a head with its own copy leaves input rows of absent tokens untouched.")
def tie_survives_training(ctx, p):
    a = ctx.adapter
    model = ctx.build(p)
    n = p["new"]
    a.resize(model, n)
    ids = ctx.ids(n - 1, batch=2, length=6)  # token n-1 is absent from the batch
    if ctx.caps.has("assign_weights"):
        # Give row n-1 the values of a row in the batch: through a tied head its softmax share is then
        # that token's, not a new row's (which can be ~1e-8 when the resize draws new rows far below the
        # built scale, so a float32 update of it rounds away whatever the tie).
        matrix = a.read_input_matrix(model).copy()
        matrix[n - 1] = matrix[int(ids[0, 0])]
        a.assign(model, "input", matrix)
    before = a.read_input_matrix(model).copy()
    loss = expect_ok(lambda: a.train_step(model, ids), "train step after resize")
    expect(np.isfinite(loss), f"train step loss is not finite ({loss})")
    inp = a.read_input_matrix(model)
    expect(not np.array_equal(before[: n - 1], inp[: n - 1]), "the train step did not change the input matrix "
           "rows of the ids at all")
    expect(not np.array_equal(before[n - 1], inp[n - 1]),
           f"input row {n - 1} (a token absent from the batch) was not updated by the train step: only a tied "
           "head's softmax gradient reaches it, so the head does not use the input matrix",
           expected="row changed", observed="row unchanged")
