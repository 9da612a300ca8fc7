"""Resize of an LM-head bias dict (the spec).

A bias dict maps names to vectors ``[V]`` or rows ``[1, V]`` (e.g. transformers'
``{"bias": ...}`` and BART's ``{"final_logits_bias": ...}``). Every entry is
resized on its last axis: old values kept, new entries zero; the layout (rank),
dtype, variable name and trainability of each entry are kept.
"""

import tensorflow as tf

from reference.errors import ResizeTypeError
from reference.matrix import resize_last_axis, variable_like


def map_bias_dict(bias, fn, *, variables=True):
    """A new dict with ``fn(entry)`` for every entry; with ``variables`` Variables come back as new
    Variables (``variable_like``: name, trainability and dtype kept), else as the tensors ``fn``
    returns (to be written into the model in place). ``None`` stays ``None``."""
    if bias is None:
        return None
    if not isinstance(bias, dict):
        raise ResizeTypeError(f"bias must be a dict of name -> tensor, got {type(bias).__name__}")
    resized = {}
    for key, value in bias.items():
        new_value = fn(value)
        resized[key] = variable_like(value, new_value) if variables and isinstance(value, tf.Variable) \
            else new_value
    return resized


def resize_bias_dict(bias, new_num_tokens, *, min_num_tokens=1, nonfinite="error"):
    """Return a new dict with every entry resized; Variables come back as new Variables."""
    return map_bias_dict(bias, lambda value: resize_last_axis(
        value, new_num_tokens, min_num_tokens=min_num_tokens, nonfinite=nonfinite))
