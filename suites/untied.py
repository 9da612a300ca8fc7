"""Untied decoder: an LM head with its own matrix is resized on its own, even when
its values happen to equal the input embeddings (transformers decides "tied" by
comparing values: ``tf.reduce_any(input == decoder)``)."""

import numpy as np

from harness.checks import check
from harness.compare import expect, expect_close, expect_shape
from suites._model import needs_tie_mode, snapshot
from suites._params import P, strategy

UNTIED_CASES = (P(8, 9, tie="untied"), P(8, 30, tie="untied", bias="vector"),
                P(12, 4, tie="untied", bias="row"))




@check("untied.decoder_resized", cases=UNTIED_CASES, strategy=strategy("any", ties=("untied",)),
       requires=("output_embeddings",), applies=needs_tie_mode("untied"), essential=("tie",),
       property="An untied output matrix is resized to N rows, keeps its own prefix, and stays a separate variable.",
       why="An LM head left at the old size cannot score new tokens, or crashes when ids reach it.")
def decoder_resized(ctx, p):
    a = ctx.adapter
    model = ctx.build(p)
    before = snapshot(a, model)
    expect(not before.tied, "the freshly built untied model reports tied (adapter or build problem)")
    a.resize(model, p["new"])
    after = snapshot(a, model)
    expect_shape(after.output, [p["new"], before.output.shape[1]], "output matrix")
    keep = min(p["old"], p["new"])
    expect_close(after.output[:keep], before.output[:keep], "output matrix kept rows")
    expect(not after.tied, "an untied model became tied by the resize", expected={"tied": False},
           observed={"tied": True})


@check("untied.value_equal_head_independent",
       cases=(P(8, 12, tie="untied"), P(8, 5, tie="untied", bias="vector")),
       strategy=strategy("any", ties=("untied",)),
       requires=("output_embeddings", "assign_weights"), applies=needs_tie_mode("untied"), essential=("tie",),
       property="An untied head whose values equal the input embeddings is still resized as a separate matrix.",
       why="Tie detection by value comparison skips resizing a head initialised from the embeddings.")
def value_equal_head_independent(ctx, p):
    a = ctx.adapter
    model = ctx.build(p)
    a.assign(model, "output", a.read_input_matrix(model))
    before = snapshot(a, model)
    expect(not before.tied and np.array_equal(before.output, before.input),
           "could not set up an untied head equal in value to the input matrix")
    a.resize(model, p["new"])
    after = snapshot(a, model)
    expect_shape(after.input, [p["new"], before.input.shape[1]], "input matrix")
    expect_shape(after.output, [p["new"], before.output.shape[1]], "output matrix")
    expect(not after.tied, "the value-equal untied head became the same variable as the input matrix",
           expected={"tied": False}, observed={"tied": True})
