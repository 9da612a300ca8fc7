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


def has_output(params, snap):
    return snap.output is not None


def as_f64(a):
    return np.asarray(a).astype(np.float64)
