"""Reference TensorFlow implementation of vocabulary resize: the spec, in code.

Imports nothing from ``harness`` or ``suites``.
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

from reference.bias import resize_bias_dict
from reference.errors import NonFiniteError, ResizeError, ResizeTypeError
from reference.matrix import (
    resize_last_axis,
    resize_matrix,
    resize_variable,
    truncated_normal_initializer,
)
from reference.mean_init import mean_resize_matrix
from reference.model_resize import is_tied, resize_token_embeddings
from reference.pad import padded_num_tokens
from reference.remap import load_vocabulary, remap_matrix, remap_token_embeddings
from reference.rnn import resize_rnn_cell
from reference.validate import validate_num_tokens
from reference.width import resize_model_width, resize_width

__all__ = [
    "NonFiniteError", "ResizeError", "ResizeTypeError", "is_tied", "resize_bias_dict",
    "resize_last_axis", "resize_matrix", "resize_token_embeddings", "resize_variable",
    "truncated_normal_initializer", "validate_num_tokens",
    "load_vocabulary", "mean_resize_matrix", "padded_num_tokens", "remap_matrix", "remap_token_embeddings",
    "resize_model_width", "resize_rnn_cell", "resize_width",
]
