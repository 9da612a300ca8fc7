"""Bad sizes: every invalid ``new_num_tokens`` raises, and the model is left as it was."""

import numpy as np
from hypothesis import strategies as st

from harness.checks import check
from harness.compare import expect, expect_close, expect_raises
from suites._model import snapshot
from suites._params import P, draw_model

BAD_SIZES = {
    "zero": 0, "negative": -3, "bool_true": True, "bool_false": False, "float": 9.5,
    "integral_float": 12.0, "string": "12", "int32_overflow": 2**31, "huge": 2**62,
    "nan": float("nan"), "list": [12], "numpy_float": np.float32(12.0),
}
BAD_CASES = tuple(P(8, tie=("tied" if i % 2 else "untied"), bias=("vector" if i % 3 else "none"), bad=k)
                  for i, k in enumerate(BAD_SIZES))


def _strategy(data, caps):
    params = {"old": data.draw(st.integers(1, 32), label="old"),
              "bad": data.draw(st.sampled_from(sorted(BAD_SIZES)), label="bad")}
    params.update(draw_model(data, caps))
    return params


@check("bad_input.size_rejected", cases=BAD_CASES, strategy=_strategy,
       property="resize() with a zero, negative, bool, float, string, NaN or int32-overflowing size raises "
                "and changes nothing.",
       why="Coercing True to 1 or 12.5 to 12 silently destroys a vocabulary; a half-applied resize corrupts the model.")
def size_rejected(ctx, p):
    a = ctx.adapter
    model = ctx.build(p)
    before, handles = snapshot(a, model), dict(a.handles(model))
    value = BAD_SIZES[p["bad"]]
    expect_raises(lambda: a.resize(model, value), f"resize with new_num_tokens={value!r}")
    after = snapshot(a, model)
    for key, obj in handles.items():
        expect(a.handles(model).get(key) is obj, f"weight '{key}' replaced by a rejected resize")
    expect_close(after.input, before.input, "input matrix after a rejected resize")
    expect(after.config_vocab == before.config_vocab, "config vocab_size changed by a rejected resize",
           expected=before.config_vocab, observed=after.config_vocab)
