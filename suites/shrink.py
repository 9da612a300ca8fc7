"""Shrinkage: fewer rows, kept rows untouched, a declared minimum enforced (with a documented error)."""

from harness.checks import check
from harness.compare import expect_close, expect_ok, expect_raises, expect_shape
from suites._model import resized
from suites._params import SHRINK_CASES, P, strategy
from suites._state import capture, expect_unchanged


@check("shrink.shape", cases=SHRINK_CASES, strategy=strategy("shrink"), requires=("shrink",),
       property="After shrinking to N rows, the input (and output) matrix is [N, width].",
       why="Ids >= N must no longer exist; a head that keeps old rows predicts removed tokens.")
def shape(ctx, p):
    model, before, after = resized(ctx, p)
    expect_shape(after.input, [p["new"], before.input.shape[1]], "input matrix")
    if before.output is not None:
        expect_shape(after.output, [p["new"], before.output.shape[1]], "output matrix")


@check("shrink.prefix_preserved", cases=SHRINK_CASES, strategy=strategy("shrink"), requires=("shrink",),
       property="After shrinking to N rows, rows [0, N) of the input and output matrices are bit-identical.",
       why="Shrinking removes tokens from the end; the kept tokens must keep their trained vectors.")
def prefix_preserved(ctx, p):
    model, before, after = resized(ctx, p)
    n = p["new"]
    expect_close(after.input, before.input[:n], "input matrix rows [0, new)")
    if before.output is not None:
        expect_close(after.output, before.output[:n], "output matrix rows [0, new)")


@check("shrink.below_minimum_rejected",
       cases=(P(10, 3, min_vocab=4), P(10, 1, tie="untied", bias="vector", min_vocab=2)),
       requires=("shrink", "min_vocab_size"),
       property="Shrinking below the declared minimum (e.g. special tokens) raises one of the adapter's documented "
                "resize errors and leaves the model unchanged; shrinking to exactly the minimum then works.",
       why="Dropping special-token rows silently breaks tokenization and generation.")
def below_minimum_rejected(ctx, p):
    a = ctx.adapter
    model = ctx.build(p)
    before, width = capture(a, model), a.read_input_matrix(model).shape[1]
    expect_raises(lambda: a.resize(model, p["new"]),
                  f"resize to {p['new']} below min_vocab_size={p['min_vocab']}", accept=a.resize_errors)
    expect_unchanged(before, a, model, "a rejected resize")
    low = p["min_vocab"]  # control: the boundary itself is allowed, so the rejection was about the minimum
    expect_ok(lambda: a.resize(model, low), f"a valid resize to min_vocab_size={low} after the rejected one")
    expect_shape(a.read_input_matrix(model), [low, width], f"input matrix after the valid resize to {low}")
