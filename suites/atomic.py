"""Atomic failure: whenever a resize raises, for any reason and on any path, the model is
exactly as it was: every variable's values, the variable set, the weight objects, the config
and the tie (``suites/_state.py``).

A check of its own, so that an expected failure for "resize raises" (a manifest entry) cannot
hide a half-modified model: a user who catches the error keeps working with that model.
"""

import numpy as np
from hypothesis import strategies as st

from harness.checks import check
from suites._params import MAX_VOCAB, P, draw_model
from suites._state import capture, expect_unchanged

# Sizes that must be rejected, and valid ones on which some libraries raise part-way.
INVALID = {"zero": 0, "negative": -3, "bool_true": True, "float": 9.5, "string": "12",
           "nan": float("nan"), "int32_overflow": 2**31, "numpy_float": np.float32(12.0)}
CASES = (
    P(8, tie="tied", bias="vector", size="zero"), P(8, tie="untied", bias="row", size="negative"),
    P(8, tie="untied", bias="multi", size="bool_true"), P(8, tie="tied", bias="none", size="float"),
    P(8, tie="untied", bias="vector", size="string"), P(8, tie="tied", bias="multi", size="nan"),
    P(8, tie="untied", bias="none", size="int32_overflow"), P(8, tie="tied", bias="row", size="numpy_float"),
    P(8, tie="untied", bias="vector", size=12), P(8, tie="tied", bias="vector", size=13),
    P(12, tie="untied", bias="multi", size=5), P(12, tie="tied", bias="row", size=1),
)


def _strategy(data, caps):
    params = {"old": data.draw(st.integers(1, MAX_VOCAB), label="old"),
              "size": data.draw(st.one_of(st.sampled_from(sorted(INVALID)), st.integers(1, MAX_VOCAB)),
                                label="size")}
    params.update(draw_model(data, caps))
    return params


@check("atomic.failed_resize_leaves_model_unchanged", cases=CASES, strategy=_strategy,
       property="When resize() raises (an invalid size, or any failure on a valid size), every variable, the "
                "variable set, the weight objects, the config and the tie are exactly as before the call.",
       why="A user who catches the error keeps a half-resized model: mismatched matrices, a config that lies, "
           "a lost tie; the next forward or checkpoint breaks far from the cause.")
def failed_resize_leaves_model_unchanged(ctx, p):
    a = ctx.adapter
    model = ctx.build(p)
    size = INVALID[p["size"]] if isinstance(p["size"], str) else int(p["size"])
    before = capture(a, model)
    try:
        a.resize(model, size)
    except Exception as exc:  # noqa: BLE001 - any failure must leave the model as it was
        expect_unchanged(before, a, model, f"resize({size!r}) raised {type(exc).__name__}")
