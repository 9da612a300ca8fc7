"""Put a freshly built model in a state where the properties under test can fail.

Real models start out trivial in ways that hide defects: every LM-head bias in transformers
starts at zero (a resize that wipes the kept bias values, or a load that drops them, passes a
preservation check over zeros), and an untied head may start equal to the input embeddings
(a value-based tie test then looks right). ``condition`` writes, through the adapter:

* every bias entry: random values, each at least ``0.1`` away from zero, random sign;
* the input matrix: left alone when its rows are pairwise distinct, else redrawn at its own
  scale;
* an untied head: redrawn at its own scale when any of its rows equals the input row of the
  same token.

Then it *verifies* from the read-back, and raises ``PreconditionError`` (reported as status
``error``, never a pass) when the state could not be established, e.g. an adapter that cannot
write weights on a model whose bias is all zero. Values come from a seeded generator, so a
case and its reproduction command see the same model.
"""

import numpy as np

MIN_ABS_BIAS = 0.1


class PreconditionError(Exception):
    """The check's precondition could not be established on this subject."""


def _distinct_rows(mat):
    m = np.asarray(mat, np.float64)
    return m.shape[0] <= 1 or np.unique(m, axis=0).shape[0] == m.shape[0]


def _scale(mat):
    std = float(np.asarray(mat, np.float64).std()) if np.size(mat) else 0.0
    return std if std > 0 and np.isfinite(std) else 0.02


def _equal_rows(a, b):
    """Rows ``i`` where ``a[i] == b[i]`` everywhere (over the common row count)."""
    n = min(a.shape[0], b.shape[0])
    if a.shape[1:] != b.shape[1:]:
        return []
    return [i for i in range(n) if np.array_equal(a[i], b[i])]


def _distinct_draw(rng, like):
    """Random values at ``like``'s scale whose rows are pairwise distinct even in float16 /
    bfloat16 and at width 1: the first column is a shuffled, evenly spaced grid over +-2 std."""
    scale = _scale(like)
    values = rng.normal(0.0, scale, size=np.shape(like))
    rows = values.shape[0]
    if rows > 1 and values.ndim == 2 and values.shape[1] >= 1:
        values[:, 0] = rng.permutation(np.linspace(-2.0 * scale, 2.0 * scale, rows))
    return values.astype(np.float32)


def problems(adapter, model):
    """What keeps this model from making failures observable (empty list: none)."""
    out = []
    inp = adapter.read_input_matrix(model)
    if not _distinct_rows(inp):
        out.append("the input matrix has repeated rows")
    outp = adapter.read_output_matrix(model)
    if outp is not None and not adapter.is_tied(model):
        same = _equal_rows(np.asarray(outp), np.asarray(inp))
        if same:
            out.append(f"the untied head equals the input matrix on {len(same)} row(s)")
    for key, value in (adapter.read_bias(model) or {}).items():
        zeros = int((np.asarray(value, np.float64) == 0).sum())
        if zeros:
            out.append(f"bias '{key}' has {zeros} of {np.size(value)} entries at zero")
    return out


def condition(adapter, model, rng, can_assign):
    """Write the observable state described in the module docstring; raise if it cannot hold."""
    if can_assign:
        for key, value in (adapter.read_bias(model) or {}).items():
            shape = np.shape(value)
            magnitude = rng.uniform(MIN_ABS_BIAS, 1.0, size=shape)
            sign = np.where(rng.random(size=shape) < 0.5, -1.0, 1.0)
            adapter.assign(model, "bias:" + key, (magnitude * sign).astype(np.float32))
        inp = adapter.read_input_matrix(model)
        if not _distinct_rows(inp):
            adapter.assign(model, "input", _distinct_draw(rng, inp))
            inp = adapter.read_input_matrix(model)
        outp = adapter.read_output_matrix(model)
        if outp is not None and not adapter.is_tied(model) and \
                (_equal_rows(np.asarray(outp), np.asarray(inp)) or not _distinct_rows(outp)):
            adapter.assign(model, "output", _distinct_draw(rng, outp))
    found = problems(adapter, model)
    if found:
        how = "after conditioning" if can_assign else "and the adapter cannot write weights (assign_weights)"
        raise PreconditionError(f"precondition not established: {'; '.join(found)} {how}, so a defect "
                                "that loses or mixes these values would not be observable")
    return model
