"""Bad sizes: every invalid ``new_num_tokens`` raises one of the adapter's documented
``resize_errors``, the model is left exactly as it was, and it still resizes to a valid size."""

import numpy as np
from hypothesis import strategies as st

from harness.checks import check
from harness.compare import expect_ok, expect_raises, expect_shape
from suites._params import P, draw_model
from suites._state import capture, expect_unchanged

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
       property="resize() with a zero, negative, bool, float, string, NaN or int32-overflowing size raises one of "
                "the adapter's documented resize errors, changes nothing, and the model then resizes to a valid size.",
       why="Coercing True to 1 or 12.5 to 12 silently destroys a vocabulary; a half-applied resize corrupts the model.")
def size_rejected(ctx, p):
    a = ctx.adapter
    model = ctx.build(p)
    before, width = capture(a, model), a.read_input_matrix(model).shape[1]
    value = BAD_SIZES[p["bad"]]
    expect_raises(lambda: a.resize(model, value), f"resize with new_num_tokens={value!r}", accept=a.resize_errors)
    expect_unchanged(before, a, model, "a rejected resize")
    valid = p["old"] + 1  # control: the rejection was about the value, and it left a usable model
    expect_ok(lambda: a.resize(model, valid), f"a valid resize to {valid} after the rejected one")
    expect_shape(a.read_input_matrix(model), [valid, width], f"input matrix after the valid resize to {valid}")
