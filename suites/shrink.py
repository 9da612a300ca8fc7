"""Shrinkage: fewer rows, kept rows untouched, a declared minimum enforced."""

from harness.checks import check
from harness.compare import expect, expect_close, expect_raises, expect_shape
from suites._model import resized, snapshot
from suites._params import P, SHRINK_CASES, strategy




@check("shrink.shape", cases=SHRINK_CASES, strategy=strategy("shrink"), requires=("shrink",),
       property="After shrinking to N rows, the input (and output) matrix is [N, width].",
       why="Ids >= N must no longer exist; a head that keeps old rows predicts removed tokens.")
def shrink_shape(ctx, p):
    model, before, after = resized(ctx, p)
    expect_shape(after.input, [p["new"], before.input.shape[1]], "input matrix")
    if before.output is not None:
        expect_shape(after.output, [p["new"], before.output.shape[1]], "output matrix")


@check("shrink.prefix_preserved", cases=SHRINK_CASES, strategy=strategy("shrink"), requires=("shrink",),
       property="After shrinking to N rows, rows [0, N) of the input and output matrices are bit-identical.",
       why="Shrinking removes tokens from the end; the kept tokens must keep their trained vectors.")
def shrink_prefix(ctx, p):
    model, before, after = resized(ctx, p)
    n = p["new"]
    expect_close(after.input, before.input[:n], "input matrix rows [0, new)")
    if before.output is not None:
        expect_close(after.output, before.output[:n], "output matrix rows [0, new)")


@check("shrink.below_minimum_rejected",
       cases=(P(10, 3, min_vocab=4), P(10, 1, tie="untied", bias="vector", min_vocab=2)),
       requires=("shrink", "min_vocab_size"),
       property="Shrinking below the declared minimum (e.g. special tokens) raises and leaves the model unchanged.",
       why="Dropping special-token rows silently breaks tokenization and generation.")
def shrink_below_min(ctx, p):
    a = ctx.adapter
    model = ctx.build(p)
    before = snapshot(a, model)
    expect_raises(lambda: a.resize(model, p["new"]),
                  f"resize to {p['new']} below min_vocab_size={p['min_vocab']}")
    after = snapshot(a, model)
    expect_close(after.input, before.input, "input matrix after the rejected resize")
    expect(after.config_vocab == before.config_vocab, "config vocab_size changed by a rejected resize",
           expected=before.config_vocab, observed=after.config_vocab)
