"""Errors raised by the reference resize on bad input.

Every error is a ``ResizeError`` (a ``ValueError``); type problems are also
``TypeError`` so callers can catch either idiom.
"""


class ResizeError(ValueError):
    """Invalid argument to a resize operation."""


class ResizeTypeError(ResizeError, TypeError):
    """Argument of the wrong type (bool, float, str, ...) to a resize operation."""


class NonFiniteError(ResizeError):
    """The source matrix holds NaN or Inf in rows that the resize would keep."""
