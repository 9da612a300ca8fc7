"""Helpers shared by suites: snapshots of what the adapter reads back."""

import dataclasses

import numpy as np


@dataclasses.dataclass
class Snapshot:
    input: np.ndarray
    output: object
    bias: object
    config_vocab: int
    tied: bool


def snapshot(adapter, model):
    return Snapshot(
        input=adapter.read_input_matrix(model),
        output=adapter.read_output_matrix(model),
        bias=adapter.read_bias(model),
        config_vocab=adapter.read_config_vocab_size(model),
        tied=adapter.is_tied(model),
    )


def resized(ctx, p):
    """Build from params, resize to ``p['new']``; return (model, before, after) snapshots."""
    a = ctx.adapter
    model = ctx.build(p)
    before = snapshot(a, model)
    a.resize(model, p["new"])
    return model, before, snapshot(a, model)


def needs_tie_mode(mode):
    """An ``applies`` predicate: the adapter must support tie mode ``mode``."""

    def applies(caps, params):
        return None if mode in caps.tie_modes else f"adapter has no {mode} mode"

    return applies


def as_f64(a):
    return np.asarray(a).astype(np.float64)
