"""Matrix-level resize: graph-safe with unknown dims, any input kind, dtype kept,
non-finite values never laundered into finite ones."""

import numpy as np
import tensorflow as tf

from harness.checks import check
from harness.compare import expect, expect_close, expect_documented, expect_dtype, expect_ok, expect_shape
from suites._params import P, draw_model, draw_sizes

MATRIX_CASES = (P(6, 9, width=4), P(9, 6, width=4), P(1, 5, width=2), P(7, 1, width=3))
DTYPE_MATRIX_CASES = tuple(P(6, n, width=4, dtype=d) for d in ("float16", "bfloat16", "float32") for n in (9, 4))


def _source(ctx, p):
    rng = ctx.rng()
    return rng.standard_normal((p["old"], p["width"])).astype(np.float32)


def _strategy(dtypes=("float32",)):
    def draw(data, caps):
        params = draw_sizes(data, caps, "any")
        params.update({k: v for k, v in draw_model(data, caps, dtypes=dtypes).items() if k in ("width", "dtype")})
        return params
    return draw


def _to_numpy(value):
    return value.numpy() if hasattr(value, "numpy") else np.asarray(value)


@check("matrix.graph_unknown_dims", cases=MATRIX_CASES, strategy=_strategy(), requires=("matrix_resize",),
       property="resize_matrix runs inside tf.function with [None, None] matrix and scalar size, and keeps the prefix.",
       why="Resize inside exported graphs or distributed steps must not need static shapes or eager values.")
def graph_unknown_dims(ctx, p):
    a = ctx.adapter
    src = _source(ctx, p)
    fn = tf.function(lambda m, n: a.resize_matrix(m, n), input_signature=[
        tf.TensorSpec([None, None], tf.float32), tf.TensorSpec([], tf.int32)])
    out = _to_numpy(expect_ok(lambda: fn(tf.constant(src), tf.constant(p["new"])), "traced resize_matrix"))
    expect_shape(out, [p["new"], p["width"]], "resized matrix")
    keep = min(p["old"], p["new"])
    expect_close(out[:keep], src[:keep], "kept rows")


@check("matrix.input_kinds", cases=MATRIX_CASES[:2], strategy=_strategy(), requires=("matrix_resize",),
       property="resize_matrix gives the same shape, dtype and kept rows for a numpy array, a tf.Tensor and a tf.Variable.",
       why="Callers hold weights in all three forms; one form taking a different code path is a latent bug.")
def input_kinds(ctx, p):
    a = ctx.adapter
    src = _source(ctx, p)
    keep = min(p["old"], p["new"])
    for kind, value in (("numpy", src.copy()), ("tensor", tf.constant(src)), ("variable", tf.Variable(src))):
        out = _to_numpy(expect_ok(lambda value=value: a.resize_matrix(value, p["new"]), f"resize_matrix({kind})"))
        expect_shape(out, [p["new"], p["width"]], f"result for a {kind}")
        expect_dtype(out, "float32", f"result for a {kind}")
        expect_close(out[:keep], src[:keep], f"kept rows for a {kind}")


@check("matrix.dtype_preserved", cases=DTYPE_MATRIX_CASES,
       strategy=_strategy(dtypes=("float32", "float16", "bfloat16")), requires=("matrix_resize",),
       essential=("dtype",),
       property="resize_matrix returns the input's dtype (float16, bfloat16, float32) with kept rows bit-exact.",
       why="Upcasting half-precision embeddings doubles memory; downcasting loses the trained values.")
def dtype_preserved(ctx, p):
    a = ctx.adapter
    src = tf.cast(tf.constant(_source(ctx, p)), p["dtype"])
    out = _to_numpy(expect_ok(lambda: a.resize_matrix(src, p["new"]), "resize_matrix"))
    expect_dtype(out, p["dtype"], "resized matrix")
    keep = min(p["old"], p["new"])
    expect_close(out[:keep], src.numpy()[:keep], "kept rows")


@check("matrix.nonfinite_not_laundered",
       cases=(P(6, 9, width=4, bad="nan"), P(6, 9, width=4, bad="inf"), P(6, 3, width=4, bad="nan")),
       requires=("matrix_resize",),
       property="NaN/Inf in kept rows is rejected with one of the adapter's documented errors (leaving the source "
                "variable untouched) or copied as is; it never becomes finite nor spreads to new rows.",
       why="Silently replacing NaN hides a corrupted checkpoint; spreading it poisons every new token.")
def nonfinite_not_laundered(ctx, p):
    a = ctx.adapter
    clean = _source(ctx, p)
    keep = min(p["old"], p["new"])
    # Control: the same matrix without the bad value resizes, so a rejection below is about the value.
    out = _to_numpy(expect_ok(lambda: a.resize_matrix(tf.Variable(clean), p["new"]),
                              "resize_matrix of the finite copy"))
    expect_close(out[:keep], clean[:keep], "kept rows of the finite copy")
    src = clean.copy()
    src[0, 1] = np.nan if p["bad"] == "nan" else np.inf
    var = tf.Variable(src)
    try:
        out = _to_numpy(a.resize_matrix(var, p["new"]))
    except Exception as exc:  # noqa: BLE001 - rejecting is an allowed policy, with a documented error
        expect_documented(exc, a.nonfinite_errors, f"resize_matrix with {p['bad']} in a kept row")
        expect_close(var.numpy(), src, "the source matrix after the rejected resize_matrix")
        return
    expect_close(var.numpy(), src, "the source matrix after resize_matrix")
    expect_shape(out, [p["new"], p["width"]], "resized matrix")
    expect_close(out[:keep], src[:keep], "kept rows, non-finite values included")
    if p["new"] > p["old"]:
        expect(np.isfinite(out[p["old"]:].astype(np.float64)).all(), "non-finite values spread into new rows")
