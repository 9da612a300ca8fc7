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
    """``(model, before, after)``: built from ``p`` (conditioned), snapshot, resized to ``p['new']``,
    snapshot. One shared scenario ("resized") per parameter set: callers only observe the model
    (forwards, reads, a probe that restores what it assigns); a check that trains, saves or resizes
    again builds its own."""
    return ctx.scenario("resized", p, lambda own: _build_and_resize(own, p))


def _build_and_resize(ctx, p):
    a = ctx.adapter
    model = ctx.build(p)
    before = snapshot(a, model)
    a.resize(model, p["new"])
    return model, before, snapshot(a, model)


def fresh_build(ctx, p, vocab_size):
    """The library's own build of ``p`` at ``vocab_size``, unconditioned (the independent reference
    for "as built"); one shared scenario ("fresh") per parameter set and size, read only."""
    return ctx.scenario("fresh", {**p, "vocab_size": int(vocab_size)},
                        lambda own: own.build(p, vocab_size=vocab_size, condition=False))


def needs_tie_mode(mode):
    """An ``applies`` predicate: the adapter must support tie mode ``mode``."""

    def applies(caps, params):
        return None if mode in caps.tie_modes else f"adapter has no {mode} mode"

    return applies


def as_f64(a):
    return np.asarray(a).astype(np.float64)
