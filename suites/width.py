"""Embedding-width (hidden size) resize: zero padding, truncation or a projection of
the matrix; at model level the tie is kept, the config records the width, and zero
padding changes no logit.

Parameter keys: ``vocab`` (rows), ``width`` (current), ``new_width``, ``mode``
(``pad``/``truncate``/``projection``), plus ``tie``/``bias``/``dtype``.
"""

import numpy as np
import tensorflow as tf
from hypothesis import strategies as st

from harness.checks import check
from harness.compare import expect, expect_close, expect_dtype, expect_ok, expect_raises, expect_shape
from suites._model import as_f64, snapshot
from suites._params import draw_model
from suites._state import capture, expect_unchanged
from suites._tie_probe import expect_head_reads_input

EPS = {"float32": 2.0**-23, "bfloat16": 2.0**-7, "float16": 2.0**-10}


def W(vocab, width, new_width, mode=None, *, tie="tied", bias="none", dtype="float32", **extra):
    mode = mode or ("pad" if new_width >= width else "truncate")
    return {"vocab": vocab, "width": width, "new_width": new_width, "mode": mode, "tie": tie, "bias": bias,
            "dtype": dtype, **extra}


MATRIX_CASES = (W(5, 4, 7), W(6, 4, 9, dtype="bfloat16"), W(6, 8, 3, dtype="float16"))
PROJECTION_CASES = (W(5, 4, 6, "projection"), W(7, 6, 3, "projection", dtype="bfloat16"))
MODEL_CASES = (W(10, 4, 7, tie="untied", bias="vector"), W(10, 6, 3, tie="tied", bias="multi"),
               W(9, 4, 6, "projection", tie="untied", bias="row"))
BAD_WIDTHS = {"zero": 0, "negative": -2, "integral_float": 6.0, "bool": True, "string": "6",
              "projection_rows": "projection_rows"}
BAD_CASES = tuple(W(8, 4, 6, tie=("untied" if i % 2 else "tied"), bad=k) for i, k in enumerate(BAD_WIDTHS))


def _strategy(model=False, modes=("pad", "truncate", "projection")):
    def draw(data, caps):
        dtypes = [d for d in ("float32", "bfloat16", "float16") if d in caps.dtypes] or ["float32"]
        params = draw_model(data, caps) if model else {"dtype": data.draw(st.sampled_from(dtypes), label="dtype")}
        params["vocab"] = data.draw(st.integers(1, 24), label="vocab")
        params["width"] = width = data.draw(st.integers(1, 10), label="width")
        params["mode"] = mode = data.draw(st.sampled_from(modes), label="mode")
        low, high = {"pad": (width, 16), "truncate": (1, width)}.get(mode, (1, 16))
        params["new_width"] = data.draw(st.integers(low, high), label="new_width")
        return params
    return draw


def _matrix(ctx, p):
    values = ctx.rng(11).standard_normal((p["vocab"], p["width"])).astype(np.float32)
    return tf.cast(tf.constant(values), p["dtype"])


def projection_for(ctx, p, rows=None):
    return ctx.rng(12).standard_normal((rows or p["width"], p["new_width"])).astype(np.float32) / np.sqrt(
        p["width"])


@check("width.matrix_pad_truncate", cases=MATRIX_CASES, strategy=_strategy(modes=("pad", "truncate")),
       requires=("width_resize",),
       property="Width resize of a [V, H] matrix to H' keeps the first min(H, H') columns bit-exact and makes "
                "new columns exactly zero, with the dtype kept, eagerly and in tf.function with unknown dims.",
       why="Random or garbage new columns change every dot product; keeping the last columns scrambles features.")
def matrix_pad_truncate(ctx, p):
    a = ctx.adapter
    m = _matrix(ctx, p)
    n, keep = p["new_width"], min(p["width"], p["new_width"])
    traced = tf.function(lambda x, w: a.resize_width_matrix(x, w),
                         input_signature=[tf.TensorSpec([None, None], m.dtype), tf.TensorSpec([], tf.int32)])
    for how, run in (("eager", lambda: a.resize_width_matrix(m, n)),
                     ("tf.function", lambda: traced(m, tf.constant(n)))):
        out = np.asarray(expect_ok(run, f"resize_width_matrix {p['width']} -> {n} ({how})"))
        expect_shape(out, [p["vocab"], n], f"resized matrix ({how})")
        expect_dtype(out, p["dtype"], f"resized matrix ({how})")
        expect_close(out[:, :keep], m.numpy()[:, :keep], f"kept columns ({how})")
        expect_close(out[:, keep:], np.zeros_like(out[:, keep:]), f"new columns ({how})")


@check("width.matrix_projection", cases=PROJECTION_CASES, requires=("width_resize",),
       property="With a projection P [H, H'], the result is matrix @ P (float32 math, cast back: dtype kept); "
                "a projection whose row count is not H raises one of the adapter's documented resize errors.",
       why="A projection applied on the wrong side, transposed or ignored silently produces unrelated embeddings.")
def matrix_projection(ctx, p):
    a = ctx.adapter
    m = _matrix(ctx, p)
    proj = projection_for(ctx, p)
    out = np.asarray(expect_ok(lambda: a.resize_width_matrix(m, p["new_width"], proj), "resize_width_matrix(P)"))
    expect_dtype(out, p["dtype"], "projected matrix")
    want = as_f64(m.numpy()) @ proj.astype(np.float64)
    eps = EPS[p["dtype"]]
    expect_close(out, want, "matrix @ projection", atol=1e-5 + 2 * eps * np.abs(want).max(), rtol=2 * eps)
    wrong = projection_for(ctx, p, rows=p["width"] + 1)
    expect_raises(lambda: a.resize_width_matrix(m, p["new_width"], wrong), "a projection with H+1 rows",
                  accept=a.resize_errors)


def _resized(ctx, p):
    a = ctx.adapter
    model = ctx.build(p, vocab_size=p["vocab"])
    before = snapshot(a, model)
    proj = projection_for(ctx, p) if p["mode"] == "projection" else None
    expect_ok(lambda: a.resize_width(model, p["new_width"], proj),
              f"width resize {p['width']} -> {p['new_width']} ({p['mode']})")
    return model, before, snapshot(a, model)


@check("width.model_shapes_and_config", cases=MODEL_CASES, strategy=_strategy(model=True),
       requires=("width_resize",),
       property="After a model width resize to H', input and untied output are [V, H'], the config records H', "
                "the vocabulary bias is unchanged and a forward pass gives finite [B, T, V] logits.",
       why="A model whose config says H while its matrices are H' cannot be saved, reloaded or even run.")
def model_shapes_and_config(ctx, p):
    a = ctx.adapter
    model, before, after = _resized(ctx, p)
    n = p["new_width"]
    expect_shape(after.input, [p["vocab"], n], "input matrix")
    if before.output is not None:
        expect_shape(after.output, [p["vocab"], n], "output matrix")
    got = a.read_config_width(model)
    expect(got == n, f"config width is {got}, expected {n}", expected=n, observed=got)
    for key, value in (before.bias or {}).items():
        expect_close(after.bias[key], value, f"vocabulary bias '{key}'")
    ids = ctx.ids(p["vocab"])
    logits = expect_ok(lambda: a.forward(model, ids), "forward after the width resize")
    expect_shape(logits, list(ids.shape) + [p["vocab"]], "logits")
    expect(np.isfinite(logits).all(), "logits after the width resize hold NaN/Inf")


@check("width.tie_kept", cases=(W(8, 4, 6, tie="tied"), W(8, 4, 5, "projection", tie="tied", bias="vector")),
       requires=("width_resize", "output_embeddings"), essential=("tie",),
       applies=lambda caps, p: None if "tied" in caps.tie_modes else "adapter has no tied mode",
       property="A tied model is still tied after a width resize: the output embeddings are the input variable, "
                "whose values are the old matrix padded/truncated/projected, and (with assign_weights) the head "
                "computes with it: moving input row j moves logit j linearly and no other logit.",
       why="A width change that copies the tied matrix doubles the parameters and lets the two drift apart.")
def tie_kept(ctx, p):
    model, before, after = _resized(ctx, p)
    expect(after.tied, "after the width resize the output embeddings are no longer the input variable",
           expected={"tied": True}, observed={"tied": after.tied})
    want = _expected_matrix(ctx, p, before.input)
    eps = EPS[p["dtype"]]
    tol = 0.0 if p["mode"] != "projection" else 1e-5 + 2 * eps * float(np.abs(want).max())
    expect_close(after.input, want, f"tied matrix vs the matrix before the width resize ({p['mode']})",
                 atol=tol, rtol=2 * eps if tol else 0.0)
    expect_head_reads_input(ctx, model, p["vocab"], "after the width resize")


def _expected_matrix(ctx, p, old):
    """The width-resized matrix computed here from the values before the resize (independent source)."""
    n = p["new_width"]
    if p["mode"] == "projection":
        return as_f64(old) @ projection_for(ctx, p).astype(np.float64)
    if n <= old.shape[1]:
        return as_f64(old)[:, :n]
    return np.concatenate([as_f64(old), np.zeros((old.shape[0], n - old.shape[1]))], axis=1)


@check("width.pad_function_preserving", cases=MODEL_CASES[:1] + (W(6, 2, 9, bias="multi"),),
       strategy=_strategy(model=True, modes=("pad",)), requires=("width_resize",),
       property="Growing the width with zero padding gives [V, H'] embeddings and leaves the logits of every "
                "input unchanged.",
       why="Zero padding is meant to add capacity without changing what the model computes before training.")
def pad_function_preserving(ctx, p):
    a = ctx.adapter
    model = ctx.build(p, vocab_size=p["vocab"])
    ids = ctx.ids(p["vocab"], batch=2, length=5)
    before = a.forward(model, ids)
    expect_ok(lambda: a.resize_width(model, p["new_width"], None), f"width pad {p['width']} -> {p['new_width']}")
    expect_shape(a.read_input_matrix(model), [p["vocab"], p["new_width"]], "input matrix after the width resize")
    after = expect_ok(lambda: a.forward(model, ids), "forward after the width resize")
    tol = 1e-5 if p["dtype"] == "float32" else 4 * EPS[p["dtype"]] * float(np.abs(before).max() + 1)
    expect_close(after, before, "logits before vs after zero-padding the width", atol=tol, rtol=tol)


@check("width.bad_width_rejected", cases=BAD_CASES, requires=("width_resize",),
       property="A zero, negative, bool, float or string width, or a projection with the wrong row count, raises "
                "one of the adapter's documented resize errors and changes nothing; a valid width then works.",
       why="Coercing 6.0 or True into a width silently builds a model nobody asked for.")
def bad_width_rejected(ctx, p):
    a = ctx.adapter
    model = ctx.build(p, vocab_size=p["vocab"])
    before = capture(a, model)
    if p["bad"] == "projection_rows":
        call = lambda: a.resize_width(model, None, projection_for(ctx, p, rows=p["width"] + 2))
    else:
        call = lambda: a.resize_width(model, BAD_WIDTHS[p["bad"]], None)
    expect_raises(call, f"width resize with {p['bad']}", accept=a.resize_errors)
    expect_unchanged(before, a, model, "a rejected width resize")
    got = a.read_config_width(model)
    expect(got == p["width"], "config width changed by a rejected width resize", expected=p["width"], observed=got)
    valid = p["width"] + 1  # control: the rejection was about the value, and it left a usable model
    expect_ok(lambda: a.resize_width(model, valid, None), f"a valid width resize to {valid} after the rejected one")
    expect_shape(a.read_input_matrix(model), [p["vocab"], valid], "input matrix after the valid width resize")
