"""Reference TensorFlow implementation of vocabulary resize: the spec, in code.

Imports nothing from ``harness`` or ``suites``.
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

from reference.bias import resize_bias_dict  # noqa: E402
from reference.errors import NonFiniteError, ResizeError, ResizeTypeError  # noqa: E402
from reference.matrix import (  # noqa: E402
    resize_last_axis,
    resize_matrix,
    resize_variable,
    truncated_normal_initializer,
)
from reference.model_resize import is_tied, resize_token_embeddings  # noqa: E402
from reference.validate import validate_num_tokens  # noqa: E402

__all__ = [
    "NonFiniteError", "ResizeError", "ResizeTypeError", "is_tied", "resize_bias_dict",
    "resize_last_axis", "resize_matrix", "resize_token_embeddings", "resize_variable",
    "truncated_normal_initializer", "validate_num_tokens",
]
