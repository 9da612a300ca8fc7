"""Validation of sizes passed to resize operations.

Rules (the spec):
* a size is an integer: Python ``int`` or a NumPy integer scalar; ``bool`` is not
  an integer here, neither is ``float`` (even ``3.0``), ``str`` or ``None``
  (callers that accept ``None`` handle it before validating);
* it is at least 1 and at least ``minimum`` (e.g. the number of special tokens);
* it fits in int32 (TensorFlow gathers index with int32 on most kernels).
"""

import numbers

import numpy as np

from reference.errors import ResizeError, ResizeTypeError

INT32_MAX = 2**31 - 1


def validate_num_tokens(value, *, name="new_num_tokens", minimum=1):
    """Return ``value`` as a Python int, or raise a ResizeError saying what is wrong."""
    if isinstance(value, (bool, np.bool_)):
        raise ResizeTypeError(f"{name} must be an integer, got a bool ({value!r})")
    if not isinstance(value, (numbers.Integral, np.integer)):
        raise ResizeTypeError(
            f"{name} must be an integer, got {type(value).__name__} ({value!r})"
        )
    value = int(value)
    if value < 1:
        raise ResizeError(f"{name} must be a positive integer, got {value}")
    if value > INT32_MAX:
        raise ResizeError(f"{name}={value} overflows int32 (max {INT32_MAX})")
    minimum = int(minimum)
    if value < minimum:
        raise ResizeError(
            f"{name}={value} is below the declared minimum of {minimum} "
            "(rows that must be kept, e.g. special tokens)"
        )
    return value
