"""``pad_to_multiple_of``: the new size rounds up to a multiple, every matrix and the
config record the padded size, and a bad multiple is a clear error that changes nothing."""

import math

from hypothesis import strategies as st

from harness.checks import check
from harness.compare import expect, expect_close, expect_ok, expect_raises, expect_shape
from suites._model import snapshot
from suites._params import MAX_VOCAB, P, draw_model

PAD_CASES = (
    P(8, 9, multiple=8, tie="tied", bias="vector"),             # 9 -> 16
    P(7, None, multiple=4, tie="untied", bias="row", width=3),  # None pads the current size: 7 -> 8
    P(10, 3, multiple=4, tie="tied", bias="multi", width=5),    # shrink 10 -> 4
    P(5, 6, multiple=1, tie="untied", bias="vector"),           # multiple 1 = no padding
)
BAD_MULTIPLES = {"zero": 0, "negative": -8, "integral_float": 8.0, "fraction": 2.5, "string": "8",
                 "bool": True, "nan": math.nan}
BAD_CASES = tuple(P(8, 9, bad=k, tie=("untied" if i % 2 else "tied"), bias=("none", "vector", "row", "multi")[i % 4])
                  for i, k in enumerate(BAD_MULTIPLES))


def padded(p):
    """What the size must become: the smallest multiple of ``multiple`` >= new (or old when new is None)."""
    n = p["old"] if p.get("new") is None else p["new"]
    return -(-n // p["multiple"]) * p["multiple"]


def _strategy(data, caps):
    old = data.draw(st.integers(1, MAX_VOCAB), label="old")
    low = 1 if caps.has("shrink") else old
    new = data.draw(st.one_of(st.none(), st.integers(low, MAX_VOCAB)), label="new")
    params = {"old": old, "multiple": data.draw(st.integers(1, 16), label="multiple")}
    if new is not None:
        params["new"] = new
    params.update(draw_model(data, caps))
    return params


def _padded_resize(ctx, p):
    a = ctx.adapter
    model = ctx.build(p)
    before = snapshot(a, model)
    expect_ok(lambda: a.resize_padded(model, p.get("new"), p["multiple"]),
              f"resize {p['old']} -> {p.get('new')} with pad_to_multiple_of={p['multiple']}")
    return model, before, snapshot(a, model)


@check("pad.rounds_up", cases=PAD_CASES, strategy=_strategy, requires=("pad_to_multiple_of",),
       property="resize(n, pad_to_multiple_of=m) gives every matrix and bias ceil(n/m)*m rows (n=None: the "
                "current size), keeping the first rows bit-exact.",
       why="Padding to a multiple of 8/64 is what makes the resized matmuls fast; rounding down or ignoring "
           "it drops tokens or loses the speed.")
def rounds_up(ctx, p):
    model, before, after = _padded_resize(ctx, p)
    want = padded(p)
    keep = min(p["old"], want)
    expect_shape(after.input, [want, before.input.shape[1]], "input matrix")
    expect_close(after.input[:keep], before.input[:keep], "input matrix kept rows")
    if before.output is not None:
        expect_shape(after.output, [want, before.output.shape[1]], "output matrix")
        expect_close(after.output[:keep], before.output[:keep], "output matrix kept rows")
    for key, old in (before.bias or {}).items():
        expect(after.bias is not None and key in after.bias, f"bias '{key}' missing after the padded resize")
        expect_shape(after.bias[key], list(old.shape[:-1]) + [want], f"bias '{key}'")


@check("pad.config_records_padded", cases=PAD_CASES, requires=("pad_to_multiple_of",),
       property="After a padded resize, config.vocab_size, cached sizes and the logits width are the padded size.",
       why="A config that records the unpadded size reloads a checkpoint with mismatched shapes.")
def config_records_padded(ctx, p):
    a = ctx.adapter
    model, before, after = _padded_resize(ctx, p)
    want = padded(p)
    expect(after.config_vocab == want, f"config vocab_size is {after.config_vocab}, expected the padded {want}",
           expected=want, observed=after.config_vocab)
    stale = {k: v for k, v in a.read_cached_vocab_sizes(model).items() if v != want}
    expect(not stale, f"cached vocab sizes not the padded size {want}: {stale}", expected=want, observed=stale)
    logits = expect_ok(lambda: a.forward(model, ctx.ids_covering(0, want)), "forward on ids of the padded range")
    expect(logits.shape[-1] == want, f"logits have {logits.shape[-1]} columns, expected {want}",
           expected=want, observed=int(logits.shape[-1]))


@check("pad.bad_multiple_rejected", cases=BAD_CASES, requires=("pad_to_multiple_of",),
       property="A zero, negative, bool, float, string or NaN pad_to_multiple_of raises and changes nothing.",
       why="Coercing 2.5 to 2 or True to 1 silently picks a size the user did not ask for.")
def bad_multiple_rejected(ctx, p):
    a = ctx.adapter
    model = ctx.build(p)
    before, handles = snapshot(a, model), dict(a.handles(model))
    value = BAD_MULTIPLES[p["bad"]]
    expect_raises(lambda: a.resize_padded(model, p["new"], value), f"resize with pad_to_multiple_of={value!r}")
    after = snapshot(a, model)
    for key, obj in handles.items():
        expect(a.handles(model).get(key) is obj, f"weight '{key}' replaced by a rejected resize")
    expect_close(after.input, before.input, "input matrix after a rejected resize")
    expect(after.config_vocab == before.config_vocab, "config vocab_size changed by a rejected resize",
           expected=before.config_vocab, observed=after.config_vocab)
