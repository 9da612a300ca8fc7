"""The whole observable state of a model, to prove that something left it untouched.

``capture`` records every variable (name -> values), the live weight objects, the config
(plain data), the vocab size and the tie; ``expect_unchanged`` fails naming the first
difference. Used wherever a resize raised: a rejected or failed resize must be atomic.
"""

import dataclasses

import numpy as np

from harness.compare import expect, fail


@dataclasses.dataclass
class State:
    variables: dict        # name -> ndarray
    handles: dict          # which -> live object
    config: dict
    config_vocab: int
    tied: bool


def capture(adapter, model):
    return State(
        variables={k: np.array(v, copy=True) for k, v in adapter.variable_values(model).items()},
        handles=dict(adapter.handles(model)),
        config=adapter.read_config(model),
        config_vocab=adapter.read_config_vocab_size(model),
        tied=adapter.is_tied(model),
    )


def expect_unchanged(before, adapter, model, what):
    """Fail unless ``model`` is exactly as ``before`` (``what`` names the event, e.g. "a rejected resize")."""
    after = capture(adapter, model)
    added, removed = sorted(set(after.variables) - set(before.variables)), \
        sorted(set(before.variables) - set(after.variables))
    expect(not added and not removed, f"the variable set changed after {what}",
           expected={"removed": removed[:10]}, observed={"added": added[:10]})
    for name, old in before.variables.items():
        new = after.variables[name]
        if new.shape != old.shape:
            fail(f"variable '{name}' changed shape after {what}", expected={"shape": list(old.shape)},
                 observed={"shape": list(new.shape)})
        same = np.array_equal(np.asarray(new, np.float64), np.asarray(old, np.float64), equal_nan=True) \
            if old.dtype.kind in "fc" or str(old.dtype) == "bfloat16" else np.array_equal(new, old)
        if not same:
            diff = float(np.nanmax(np.abs(np.asarray(new, np.float64) - np.asarray(old, np.float64))))
            fail(f"variable '{name}' changed values after {what} (max abs diff {diff:.3g})",
                 expected="unchanged", observed={"max_abs_diff": diff})
    for key, obj in before.handles.items():
        expect(after.handles.get(key) is obj, f"weight '{key}' was replaced by another object after {what}")
    expect(after.config == before.config, f"the config changed after {what}",
           expected={k: v for k, v in before.config.items() if after.config.get(k) != v},
           observed={k: v for k, v in after.config.items() if before.config.get(k) != v})
    expect(after.config_vocab == before.config_vocab, f"config vocab_size changed after {what}",
           expected=before.config_vocab, observed=after.config_vocab)
    expect(after.tied == before.tied, f"the tie changed after {what}", expected=before.tied, observed=after.tied)
