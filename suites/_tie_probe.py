"""Behavioural proof that a tied LM head computes with the input matrix.

For a tied model the read-back handles of input and output are one object, so comparing
their values proves nothing. The logits are an independent source: logit ``j`` of a tied head
is ``h . E[j]`` (+ bias), so with token ``j`` absent from the ids (``h`` does not depend on
``E[j]``) moving input row ``j`` must move logit ``j`` linearly and leave every other logit alone.
"""

import numpy as np

from harness.compare import expect, expect_close, expect_shape, fail
from harness.conditioning import PreconditionError


def expect_head_reads_input(ctx, model, vocab, what):
    """Write ``0``, ``d`` and ``2d`` into input row ``vocab - 1`` and compare the logits (then
    restore the row). Returns False, checking nothing, when the adapter cannot ``assign``."""
    a = ctx.adapter
    if not ctx.caps.has("assign_weights"):
        return False
    if vocab < 2:
        raise PreconditionError("precondition not established: the tie probe needs a token absent from "
                                f"the ids, but the vocabulary has {vocab} token(s)")
    j = vocab - 1
    ids = ctx.ids(j, batch=2, length=5, salt=31)  # ids in [0, j): token j is absent
    base = np.asarray(a.read_input_matrix(model), np.float64)
    scale = 3.0 * (float(base.std()) or 0.02)
    direction = ctx.rng(32).standard_normal(base.shape[1]) * scale
    logits = []
    try:
        for t in (0.0, 1.0, 2.0):
            rows = base.copy()
            rows[j] = t * direction
            a.assign(model, "input", rows.astype(np.float32))
            logits.append(np.asarray(a.forward(model, ids), np.float64))
    finally:
        a.assign(model, "input", base.astype(np.float32))
    l0, l1, l2 = logits
    expect_shape(l0, list(ids.shape) + [vocab], f"logits {what}")
    size = float(np.abs(l0).max()) + 1.0
    others = np.arange(vocab) != j
    expect_close(l1[..., others], l0[..., others], f"{what}: logits of the other tokens when only input row {j} "
                 "changed", atol=1e-5 * size)
    d1, d2 = l1[..., j] - l0[..., j], l2[..., j] - l0[..., j]
    moved = float(np.abs(d1).max())
    if not moved > 1e-6 * size:
        fail(f"{what}: logit {j} did not move when input row {j} changed (max change {moved:.3g}): the tied "
             "head does not read the input matrix", expected="logit j moves with input row j",
             observed={"max_change": moved})
    expect(np.allclose(d2, 2 * d1, rtol=1e-3, atol=1e-5 * size),
           f"{what}: logit {j} is not linear in input row {j} (the change for 2d is not twice that for d): "
           "the tied head does not use input row j as its weight",
           expected={"change_2d": (2 * d1).tolist()}, observed={"change_2d": d2.tolist()})
    return True
