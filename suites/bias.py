"""LM-head bias dicts: every entry resized on its last axis, values kept, new
entries zero, layout ([V] or [1, V]), name, dtype and trainability kept."""

import numpy as np

from harness.checks import check
from harness.compare import expect, expect_close, expect_shape
from suites._model import snapshot
from suites._params import P, strategy

BIAS_CASES = (
    P(8, 12, bias="vector"), P(8, 12, tie="untied", bias="row"), P(8, 20, bias="multi"),
    P(12, 5, tie="untied", bias="multi"), P(6, 1, bias="vector"),
)
BIASED = ("vector", "row", "multi")


def _has_bias_layout(caps, params):
    if not set(BIASED) & set(caps.bias_layouts):
        return "adapter has no LM-head bias"
    return None


def _resized(ctx, p):
    a = ctx.adapter
    model = ctx.build(p)
    before = snapshot(a, model)
    info = a.read_bias_info(model)
    expect(before.bias, f"the model built with bias layout '{p['bias']}' has no bias (adapter problem)")
    a.resize(model, p["new"])
    return model, before, info, snapshot(a, model)


@check("bias.all_keys_resized", cases=BIAS_CASES, strategy=strategy("any", biases=BIASED),
       applies=_has_bias_layout, essential=("bias",),
       property="Every bias entry is resized on its last axis to N, keeping its rank and leading dims.",
       why="A bias left at the old size breaks the logits add; a [1, V] turned [V] breaks checkpoints.")
def all_keys_resized(ctx, p):
    model, before, info, after = _resized(ctx, p)
    expect(after.bias is not None and set(after.bias) == set(before.bias),
           "bias keys changed by the resize", expected=sorted(before.bias),
           observed=sorted(after.bias or {}))
    for key, old in before.bias.items():
        expect_shape(after.bias[key], list(old.shape[:-1]) + [p["new"]], f"bias '{key}'")


@check("bias.prefix_kept_new_zero", cases=BIAS_CASES, strategy=strategy("any", biases=BIASED),
       applies=_has_bias_layout, essential=("bias",),
       property="Bias values of kept tokens are unchanged and entries of new tokens are exactly zero.",
       why="A non-zero new bias shifts the probability of new tokens before any training.")
def prefix_kept_new_zero(ctx, p):
    model, before, info, after = _resized(ctx, p)
    keep = min(p["old"], p["new"])
    for key, old in before.bias.items():
        new = after.bias[key]
        expect(new.shape[-1] == p["new"], f"bias '{key}' not resized", expected=p["new"], observed=new.shape[-1])
        expect_close(new[..., :keep], old[..., :keep], f"bias '{key}' kept entries")
        if p["new"] > p["old"]:
            expect_close(new[..., p["old"]:], np.zeros_like(new[..., p["old"]:]), f"bias '{key}' new entries")


@check("bias.names_and_trainability_kept", cases=BIAS_CASES[:4], strategy=strategy("any", biases=BIASED),
       applies=_has_bias_layout, essential=("bias",),
       property="Each bias entry keeps its variable name, dtype and trainable flag through the resize.",
       why="A frozen bias (e.g. BART's final_logits_bias) that becomes trainable, or a renamed one, breaks fine-tuning "
           "and loading.")
def names_and_trainability_kept(ctx, p):
    model, before, info, after = _resized(ctx, p)
    new_info = ctx.adapter.read_bias_info(model)
    for key, meta in info.items():
        got = new_info.get(key)
        expect(got is not None, f"bias '{key}' missing after resize")
        for field in ("name", "trainable", "dtype"):
            expect(got[field] == meta[field], f"bias '{key}': {field} changed from {meta[field]!r} to {got[field]!r}",
                   expected=meta[field], observed=got[field])
