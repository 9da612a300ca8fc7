"""Function preservation: logits of the kept vocabulary do not change for inputs
made only of kept ids."""

from harness.checks import check
from harness.compare import expect_close, expect_ok
from suites._params import GROW_CASES, SHRINK_CASES, strategy


@check("function.kept_logits_unchanged", cases=GROW_CASES + SHRINK_CASES[:2], strategy=strategy("any"),
       property="For ids < min(old, new), logits[..., :min(old, new)] are the same before and after resize.",
       why="Adding tokens must not change what the model predicts among the tokens it already had.")
def kept_logits_unchanged(ctx, p):
    a = ctx.adapter
    model = ctx.build(p)
    keep = min(p["old"], p["new"])
    ids = ctx.ids(keep, batch=2, length=6)
    before = a.forward(model, ids)
    a.resize(model, p["new"])
    after = expect_ok(lambda: a.forward(model, ids), "forward after resize")
    expect_close(after[..., :keep], before[..., :keep], "logits of kept tokens", atol=1e-5, rtol=1e-5)
