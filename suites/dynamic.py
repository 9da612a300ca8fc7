"""Dynamic shapes: after a resize, the model traces inside ``tf.function`` with
``[None, None]`` ids and agrees with eager execution, up to id ``new - 1``."""

import numpy as np
import tensorflow as tf

from harness.checks import check
from harness.compare import expect_close, expect_ok, expect_shape
from suites._model import resized
from suites._params import GROW_CASES, SHRINK_CASES, strategy

TOL = {"float32": 1e-5, "float16": 2e-3, "bfloat16": 2e-2}


@check("dynamic.traced_forward_unknown_shape", cases=GROW_CASES[:2] + SHRINK_CASES[:1],
       strategy=strategy("any"), requires=("graph_forward",),
       property="After resize, a tf.function with a [None, None] id signature traces and matches eager logits.",
       why="Serving and Keras fit run the model as a graph; a resize that only works eagerly breaks deployment.")
def traced_forward_unknown_shape(ctx, p):
    a = ctx.adapter
    model = resized(ctx, p)[0]
    fn = tf.function(lambda ids: a.call(model, ids), autograph=getattr(a, "graph_autograph", True),
                     input_signature=[tf.TensorSpec([None, None], tf.int32)])
    ids_a = ctx.ids(p["new"], batch=2, length=5)
    ids_a[0, -1] = p["new"] - 1
    ids_b = ctx.ids(p["new"], batch=3, length=2, salt=1)
    tol = TOL.get(p.get("dtype", "float32"), 1e-5)
    for ids in (ids_a, ids_b):
        graph = expect_ok(lambda ids=ids: fn(tf.constant(ids)), f"traced call on ids of shape {list(ids.shape)}")
        graph = np.asarray(tf.cast(graph, tf.float32))
        expect_shape(graph, list(ids.shape) + [p["new"]], "traced logits")
        eager = a.forward(model, ids)
        expect_close(graph, eager, "traced vs eager logits", atol=tol, rtol=tol)
