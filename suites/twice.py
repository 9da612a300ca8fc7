"""Resize twice: the second resize starts from the first one's result."""

from hypothesis import strategies as st

from harness.checks import check
from harness.compare import expect, expect_close, expect_shape
from suites._model import snapshot
from suites._params import P, draw_model

TWICE_CASES = (
    P(6, 10, new2=14, tie="tied", bias="vector"),     # grow, grow
    P(6, 12, new2=4, tie="untied", bias="multi"),     # grow, shrink
    P(12, 5, new2=9, tie="untied", bias="row"),       # shrink, grow
)


def _strategy(data, caps):
    hi = 40
    params = {"old": data.draw(st.integers(1, hi), label="old"),
              "new": data.draw(st.integers(1, hi), label="new"),
              "new2": data.draw(st.integers(1, hi), label="new2")}
    if not caps.has("shrink"):
        params["new"] = max(params["new"], params["old"])
        params["new2"] = max(params["new2"], params["new"])
    params.update(draw_model(data, caps))
    return params


@check("twice.sequential_resizes", cases=TWICE_CASES, strategy=_strategy,
       property="Two resizes in a row give the final size, keep rows [0, min of all sizes), the config and the tie.",
       why="Tokenizers grow in steps; a resize that only works once, or restarts from stale state, corrupts the second step.")
def sequential_resizes(ctx, p):
    a = ctx.adapter
    model = ctx.build(p)
    s0 = snapshot(a, model)
    a.resize(model, p["new"])
    a.resize(model, p["new2"])
    s2 = snapshot(a, model)
    keep = min(p["old"], p["new"], p["new2"])
    expect_shape(s2.input, [p["new2"], s0.input.shape[1]], "input matrix after two resizes")
    expect_close(s2.input[:keep], s0.input[:keep], "input rows kept through both resizes")
    if s0.output is not None:
        expect_shape(s2.output, [p["new2"], s0.output.shape[1]], "output matrix after two resizes")
        expect_close(s2.output[:keep], s0.output[:keep], "output rows kept through both resizes")
    expect(s2.config_vocab == p["new2"], "config vocab_size after two resizes",
           expected=p["new2"], observed=s2.config_vocab)
    expect(s2.tied == s0.tied, "tie state changed by two resizes", expected=s0.tied, observed=s2.tied)
