"""Differential checks: the model's own resize against the reference resize of a snapshot.

Build a model, snapshot its weights as NumPy (input, output, bias, tie by identity, config
vocab size), run the model's resize, apply the spec (``reference.resize_matrix`` /
``resize_bias_dict``) to the snapshot and compare: shapes, kept rows bit-exact, tie state,
bias values (new entries zero) and config. New random rows come from a different RNG, so
they are only required to be finite. Applies to every adapter, the reference included.
"""

import numpy as np
import tensorflow as tf

from harness.checks import check
from harness.compare import expect, expect_close, expect_shape
from reference import resize_bias_dict, resize_matrix
from suites._model import snapshot
from suites._params import P, strategy

ORACLE_CASES = (
    P(8, 12, tie="tied", bias="vector"),          # grow
    P(8, 12, tie="untied", bias="multi"),         # grow, own head, several bias keys
    P(10, 4, tie="untied", bias="row"),           # shrink
    P(1, 6, tie="tied", bias="none", width=3),    # from a single row
)
BIASED = ("vector", "row", "multi")


def expected_after(before, new):
    """What the spec says the snapshot becomes after a resize to ``new``: (input, output, bias)."""
    inp = resize_matrix(before.input, new, seed=0, nonfinite="keep").numpy()
    if before.output is None:
        out = None
    elif before.tied:
        out = inp
    else:
        out = resize_matrix(before.output, new, seed=1, nonfinite="keep").numpy()
    bias = None
    if before.bias:
        bias = {k: v.numpy() for k, v in resize_bias_dict(
            {k: tf.constant(v) for k, v in before.bias.items()}, new, nonfinite="keep").items()}
    return inp, out, bias


def _run(ctx, p):
    a = ctx.adapter
    model = ctx.build(p)
    before = snapshot(a, model)
    a.resize(model, p["new"])
    after = snapshot(a, model)
    return before, after, expected_after(before, p["new"])


def _compare_matrix(what, got, want, old, new):
    expect(got is not None, f"{what} matrix disappeared after resize")
    expect_shape(got, list(want.shape), f"{what} matrix")
    keep = min(old, new)
    expect_close(got[:keep], want[:keep], f"{what} matrix rows [0, {keep}) vs the reference resize")
    if new > old:
        fresh = np.asarray(got[old:], dtype=np.float64)
        expect(np.isfinite(fresh).all(), f"{what} matrix: new rows hold NaN/Inf",
               expected="finite new rows", observed={"nonfinite": int((~np.isfinite(fresh)).sum())})


@check("oracle.matches_reference", cases=ORACLE_CASES, strategy=strategy("any"),
       property="After resize, input/output shapes, kept rows and config.vocab_size equal the reference "
                "resize of a snapshot; new rows are finite.",
       why="A differential test against the spec catches any divergence the property checks do not name.")
def matches_reference(ctx, p):
    before, after, (inp, out, _) = _run(ctx, p)
    _compare_matrix("input", after.input, inp, p["old"], p["new"])
    if out is not None:
        _compare_matrix("output", after.output, out, p["old"], p["new"])
    expect(after.config_vocab == p["new"], f"config vocab_size is {after.config_vocab}, the reference "
           f"gives {p['new']}", expected=p["new"], observed=after.config_vocab)


@check("oracle.tie_matches_reference", cases=ORACLE_CASES[:3], strategy=strategy("any"),
       requires=("output_embeddings",),
       property="After resize the tie state (same variable or not) is what it was, as in the reference.",
       why="The reference keeps a tie by identity and an untied head separate; any other outcome is a defect.")
def tie_matches_reference(ctx, p):
    before, after, _ = _run(ctx, p)
    expect(after.tied == before.tied, f"tie state changed by the resize: tied={before.tied} -> {after.tied}",
           expected={"tied": before.tied}, observed={"tied": after.tied})


def _has_bias(caps, params):
    return None if set(BIASED) & set(caps.bias_layouts) else "adapter has no LM-head bias"


@check("oracle.bias_matches_reference", cases=ORACLE_CASES[:3], strategy=strategy("any", biases=BIASED),
       applies=_has_bias, essential=("bias",),
       property="After resize every bias entry equals the reference resize: same keys and shapes, kept "
                "values, new entries zero.",
       why="A bias that differs from the spec shifts the scores of kept or new tokens.")
def bias_matches_reference(ctx, p):
    before, after, (_, _, bias) = _run(ctx, p)
    expect(before.bias, "the model has no bias to compare (adapter problem)")
    expect(after.bias is not None and set(after.bias) == set(bias), "bias keys differ from the reference",
           expected=sorted(bias), observed=sorted(after.bias or {}))
    for key, want in bias.items():
        expect_shape(after.bias[key], list(want.shape), f"bias '{key}'")
        expect_close(after.bias[key], want, f"bias '{key}' vs the reference resize")
