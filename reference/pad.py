"""Rounding a vocabulary size up to a multiple (``pad_to_multiple_of``), the spec.

``padded_num_tokens(n, m)`` is the smallest multiple of ``m`` that is ``>= n``
(``m=None`` leaves ``n`` alone). Hardware likes row counts that are multiples of
8 or 64; the padded rows are ordinary new rows (initialised like any other), and
the config records the padded size, since that is the size of every matrix.

The multiple follows the size rules: a Python or NumPy integer (not ``bool``,
not a float, even ``8.0``), at least 1. Violations raise ``ResizeError``
(``ResizeTypeError`` for type problems); the padded size must fit in int32.
"""

import numbers

import numpy as np

from reference.errors import ResizeError, ResizeTypeError
from reference.validate import INT32_MAX, validate_num_tokens


def validate_multiple(value, *, name="pad_to_multiple_of"):
    """Return ``value`` as a positive Python int, or raise a ResizeError saying what is wrong."""
    if isinstance(value, (bool, np.bool_)):
        raise ResizeTypeError(f"{name} must be a positive integer, got a bool ({value!r})")
    if not isinstance(value, (numbers.Integral, np.integer)):
        raise ResizeTypeError(f"{name} must be a positive integer, got {type(value).__name__} ({value!r})")
    value = int(value)
    if value < 1:
        raise ResizeError(f"{name} must be a positive integer, got {value}")
    return value


def round_up(n, multiple):
    """The smallest multiple of ``multiple`` that is ``>= n`` (both positive ints)."""
    return -(-int(n) // int(multiple)) * int(multiple)


def padded_num_tokens(new_num_tokens, pad_to_multiple_of=None, *, minimum=1):
    """Validate ``new_num_tokens`` (and the multiple) and return the padded size."""
    if pad_to_multiple_of is not None:
        multiple = validate_multiple(pad_to_multiple_of)
    n = validate_num_tokens(new_num_tokens, minimum=minimum)
    if pad_to_multiple_of is None:
        return n
    padded = round_up(n, multiple)
    if padded > INT32_MAX:
        raise ResizeError(
            f"new_num_tokens={n} padded to a multiple of {multiple} is {padded}, "
            f"which overflows int32 (max {INT32_MAX})"
        )
    return padded
