"""No-op: ``None`` returns the current embeddings untouched; the same size changes nothing."""

from hypothesis import strategies as st

from harness.checks import check
from harness.compare import expect, expect_close
from suites._model import snapshot
from suites._params import P, draw_model

NOOP_CASES = (P(8, tie="tied", bias="vector"), P(5, tie="untied", bias="multi"), P(1, tie="untied"))


def _noop_strategy(data, caps):
    params = {"old": data.draw(st.integers(1, 48), label="old")}
    params.update(draw_model(data, caps))
    return params


def _assert_untouched(ctx, model, before, handles_before, what):
    a = ctx.adapter
    after = snapshot(a, model)
    handles_after = a.handles(model)
    for key, obj in handles_before.items():
        expect(handles_after.get(key) is obj, f"{what}: weight '{key}' was replaced by a new object",
               expected="the same variable", observed="a different object")
    expect_close(after.input, before.input, f"{what}: input matrix")
    if before.output is not None:
        expect_close(after.output, before.output, f"{what}: output matrix")
    for key, value in (before.bias or {}).items():
        expect_close(after.bias[key], value, f"{what}: bias '{key}'")
    expect(after.config_vocab == before.config_vocab, f"{what}: config vocab_size changed",
           expected=before.config_vocab, observed=after.config_vocab)
    expect(after.tied == before.tied, f"{what}: tie state changed", expected=before.tied, observed=after.tied)


@check("noop.none_returns_current", cases=NOOP_CASES, strategy=_noop_strategy,
       property="resize(None) returns the current input embeddings and changes nothing.",
       why="Callers use resize(None) to fetch the embeddings; it must never rebuild or reinitialise them.")
def none_returns_current(ctx, p):
    a = ctx.adapter
    model = ctx.build(p)
    before, handles = snapshot(a, model), dict(a.handles(model))
    returned = a.resize(model, None)
    _assert_untouched(ctx, model, before, handles, "resize(None)")
    if returned is not None:
        target = handles["input"]
        same = returned is target or getattr(returned, "embeddings", None) is target \
            or getattr(returned, "weight", None) is target
        expect(same, "resize(None) returned something other than the current input embeddings",
               observed=type(returned).__name__)


@check("noop.same_size_identity", cases=NOOP_CASES, strategy=_noop_strategy,
       property="Resizing to the current size keeps the same variables, values, config and tie.",
       why="A same-size resize that rebuilds variables breaks optimizer slots, ties and checkpoints.")
def same_size_identity(ctx, p):
    a = ctx.adapter
    model = ctx.build(p)
    before, handles = snapshot(a, model), dict(a.handles(model))
    a.resize(model, p["old"])
    _assert_untouched(ctx, model, before, handles, "same-size resize")
