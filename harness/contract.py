"""The adapter contract, checked at the boundary.

``CheckedAdapter`` wraps an adapter for the checks: read-back must be NumPy-convertible
floating arrays of the right rank, sizes ints, and a freshly built model must match its
``ModelSpec`` (vocab size) and hold only finite weights. A violation raises
``AdapterContractError``, which the runner reports as ``error`` naming the fault: the check
could not be evaluated, so it is neither a pass nor a failure of the model's resize.
"""

import numbers

import numpy as np


class AdapterContractError(Exception):
    """The adapter broke the protocol (not the property under test)."""


def _array(value, method, rank=None, allow_none=False):
    if value is None:
        if allow_none:
            return None
        raise AdapterContractError(f"{method} returned None")
    try:
        arr = np.asarray(value)
    except Exception as exc:
        raise AdapterContractError(f"{method} returned {type(value).__name__}, not an array: {exc}") from exc
    if not (arr.dtype.kind == "f" or str(arr.dtype) == "bfloat16"):
        raise AdapterContractError(f"{method} returned dtype {arr.dtype}, not a floating array")
    if rank is not None and arr.ndim not in (rank if isinstance(rank, tuple) else (rank,)):
        raise AdapterContractError(f"{method} returned shape {list(arr.shape)}, expected rank {rank}")
    return arr


def _finite(arr, what):
    if arr is not None and not np.isfinite(arr.astype(np.float64)).all():
        bad = int((~np.isfinite(arr.astype(np.float64))).sum())
        raise AdapterContractError(f"{what} of a freshly built model holds {bad} NaN/Inf values")


class CheckedAdapter:
    """Proxy that validates what the adapter returns; everything else passes through."""

    def __init__(self, adapter):
        self._adapter = adapter

    def __getattr__(self, name):
        return getattr(self._adapter, name)

    def build(self, spec):
        model = self._adapter.build(spec)
        mat = self.read_input_matrix(model)
        if mat.shape[0] != spec.vocab_size:
            raise AdapterContractError(
                f"build(vocab_size={spec.vocab_size}) gave an input matrix with {mat.shape[0]} rows "
                "(is a config object shared between models and mutated by an earlier resize?)")
        _finite(mat, "the input matrix")
        _finite(self.read_output_matrix(model), "the output matrix")
        for key, value in (self.read_bias(model) or {}).items():
            _finite(value, f"bias '{key}'")
        return model

    def read_input_matrix(self, model):
        return _array(self._adapter.read_input_matrix(model), "read_input_matrix", rank=2)

    def read_output_matrix(self, model):
        return _array(self._adapter.read_output_matrix(model), "read_output_matrix", rank=2, allow_none=True)

    def read_bias(self, model):
        bias = self._adapter.read_bias(model)
        if bias is None:
            return None
        if not isinstance(bias, dict):
            raise AdapterContractError(f"read_bias returned {type(bias).__name__}, not a dict")
        return {k: _array(v, f"read_bias['{k}']", rank=(1, 2)) for k, v in bias.items()}

    def read_config_vocab_size(self, model):
        value = self._adapter.read_config_vocab_size(model)
        if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
            raise AdapterContractError(f"read_config_vocab_size returned {value!r}, not an int")
        return int(value)

    def is_tied(self, model):
        value = self._adapter.is_tied(model)
        if not isinstance(value, (bool, np.bool_)):
            raise AdapterContractError(f"is_tied returned {value!r}, not a bool")
        return bool(value)

    def forward(self, model, ids):
        out = self._adapter.forward(model, ids)
        return _array(out, "forward", rank=np.ndim(ids) + 1)
