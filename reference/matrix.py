"""Resize of a vocabulary-by-width matrix (the spec).

``resize_matrix(m, n)`` returns a ``[n, width]`` tensor whose first ``min(old, n)``
rows are bit-identical to ``m``'s and whose other rows come from the initializer
(truncated normal, ``stddev=initializer_range``, by default). It accepts a
``tf.Variable``, a ``tf.Tensor`` or a NumPy array, keeps the dtype (float16,
bfloat16, float32, float64), and runs eagerly or inside ``tf.function`` with
unknown static dimensions (``new_num_tokens`` may then be a scalar int tensor).

Cost: a grow is one ``concat`` of the kept prefix and the new rows, so the result is
the only full-size allocation and its bytes are written once; the prefix is a slice
that aliases the source (a variable's buffer too), and a shrink returns that alias
without copying. ``resize_variable`` wraps the result in a Variable that shares its
buffer. ``benchmarks/`` has the measurements (``resize-conformance bench``).

Non-finite policy (``nonfinite=``):
* ``"error"`` (default): NaN/Inf in a row that is kept raises ``NonFiniteError``
  eagerly (``InvalidArgumentError`` from ``check_numerics`` inside a graph);
  rows that a shrink drops are not inspected. The scan is one multi-threaded sum
  (NaN and Inf always make it non-finite); only a non-finite sum, which an overflow
  of finite values can also give, runs the exact ``check_numerics``;
* ``"keep"``: values are copied as they are.
"""

import numpy as np
import tensorflow as tf

from reference.errors import NonFiniteError, ResizeError, ResizeTypeError
from reference.validate import validate_num_tokens

DEFAULT_INITIALIZER_RANGE = 0.02
NONFINITE_POLICIES = ("error", "keep")


def truncated_normal_initializer(stddev=DEFAULT_INITIALIZER_RANGE, seed=None):
    """Initializer ``(shape, dtype) -> tensor``: truncated normal at 2 stddev.

    Drawn in float32 then cast, so a seed gives the same values for every dtype.
    With ``seed=None`` the draw uses TensorFlow's global random state.
    """

    def init(shape, dtype):
        if seed is None:
            values = tf.random.truncated_normal(shape, stddev=stddev, dtype=tf.float32)
        else:
            values = tf.random.stateless_truncated_normal(
                shape, seed=[int(seed), 0x5EED], stddev=stddev, dtype=tf.float32
            )
        return tf.cast(values, dtype)

    return init


def as_tensor(matrix):
    """A ``tf.Tensor`` view of a Variable, Tensor or array, dtype unchanged."""
    if isinstance(matrix, tf.Variable):
        return matrix.value()
    if isinstance(matrix, tf.Tensor):
        return matrix
    if isinstance(matrix, np.ndarray):
        return tf.convert_to_tensor(matrix)
    raise ResizeTypeError(
        f"matrix must be a tf.Variable, tf.Tensor or numpy array, got {type(matrix).__name__}"
    )


def _check_size_argument(new_num_tokens, minimum):
    """Validate a Python size now, or a tensor size with graph assertions."""
    if isinstance(new_num_tokens, (tf.Tensor, tf.Variable)):
        if not new_num_tokens.dtype.is_integer:
            raise ResizeTypeError(
                f"new_num_tokens must be an integer tensor, got dtype {new_num_tokens.dtype.name}"
            )
        n = tf.cast(new_num_tokens, tf.int32)
        checks = [
            tf.debugging.assert_positive(n, message="new_num_tokens must be positive"),
            tf.debugging.assert_greater_equal(
                n, tf.constant(int(minimum), tf.int32),
                message=f"new_num_tokens is below the declared minimum of {minimum}",
            ),
        ]
        with tf.control_dependencies(checks):
            return tf.identity(n)
    return validate_num_tokens(new_num_tokens, minimum=minimum)


def _check_matrix(x, rank_name="matrix", min_rank=2, exact_rank=2):
    if not x.dtype.is_floating:
        raise ResizeTypeError(f"{rank_name} must be floating point, got dtype {x.dtype.name}")
    rank = x.shape.rank
    if rank is not None:
        if exact_rank is not None and rank != exact_rank:
            raise ResizeError(f"{rank_name} must have rank {exact_rank}, got shape {x.shape}")
        if rank < min_rank:
            raise ResizeError(f"{rank_name} must have rank >= {min_rank}, got shape {x.shape}")


def _sum_is_finite(x):
    """Scalar bool tensor: the sum of ``x`` is finite (so ``x`` holds no NaN/Inf)."""
    return tf.math.is_finite(tf.reduce_sum(x))


def _finite_or_raise(prefix, what, policy):
    if policy not in NONFINITE_POLICIES:
        raise ResizeError(f"nonfinite must be one of {NONFINITE_POLICIES}, got {policy!r}")
    if policy == "keep":
        return prefix
    msg = f"{what} holds NaN or Inf in rows that the resize keeps"
    if tf.executing_eagerly():
        if bool(_sum_is_finite(prefix)):
            return prefix
        try:
            return tf.debugging.check_numerics(prefix, msg)
        except tf.errors.InvalidArgumentError:
            raise NonFiniteError(msg + " (pass nonfinite='keep' to copy them as they are)") from None
    # In a graph: the exact scan runs over every kept row only when the sum is not finite, and
    # over none otherwise (a slice of the leading axis is a view; no cond to trace).
    lead = tf.where(_sum_is_finite(prefix), 0, tf.shape(prefix)[0])
    checked = tf.debugging.check_numerics(prefix[:lead], msg)
    with tf.control_dependencies([checked]):
        return tf.identity(prefix)


def resize_matrix(
    matrix,
    new_num_tokens,
    *,
    initializer=None,
    initializer_range=DEFAULT_INITIALIZER_RANGE,
    seed=None,
    min_num_tokens=1,
    nonfinite="error",
):
    """Return ``matrix`` resized to ``new_num_tokens`` rows (see module docstring).

    ``initializer`` is any callable ``(shape, dtype) -> tensor`` (a Keras
    initializer fits); by default a truncated normal with ``initializer_range``.
    """
    x = as_tensor(matrix)
    _check_matrix(x)
    n = _check_size_argument(new_num_tokens, min_num_tokens)
    init = initializer or truncated_normal_initializer(initializer_range, seed)

    shape = tf.shape(x)
    old_n, width = shape[0], shape[1]
    keep = tf.minimum(old_n, n)
    prefix = _finite_or_raise(x[:keep], "matrix", nonfinite)
    n_add = tf.maximum(n - old_n, 0)
    static_add = tf.get_static_value(n_add)  # known eagerly; None for a graph with unknown dims
    if static_add == 0:
        return prefix
    new_rows = tf.convert_to_tensor(init(tf.stack([n_add, width]), x.dtype))
    if new_rows.dtype != x.dtype:
        new_rows = tf.cast(new_rows, x.dtype)
    if static_add is not None:
        return tf.concat([prefix, new_rows], axis=0)
    # Unknown in a graph: a shrink returns the aliasing prefix instead of copying it via concat.
    return tf.cond(n_add > 0, lambda: tf.concat([prefix, new_rows], axis=0), lambda: prefix)


def resize_last_axis(values, new_num_tokens, *, min_num_tokens=1, nonfinite="error"):
    """Resize a bias-like tensor on its last axis: keep the prefix, pad with zeros."""
    x = as_tensor(values)
    _check_matrix(x, "bias", min_rank=1, exact_rank=None)
    n = _check_size_argument(new_num_tokens, min_num_tokens)
    shape = tf.shape(x)
    old_n = shape[-1]
    keep = tf.minimum(old_n, n)
    prefix = _finite_or_raise(x[..., :keep], "bias", nonfinite)
    n_add = tf.maximum(n - old_n, 0)
    if tf.executing_eagerly() and int(n_add) == 0:
        return prefix
    pad_shape = tf.concat([shape[:-1], tf.reshape(n_add, [1])], axis=0)
    return tf.concat([prefix, tf.zeros(pad_shape, x.dtype)], axis=-1)


def variable_like(old, value):
    """A new ``tf.Variable`` holding ``value`` with ``old``'s name, dtype and trainability."""
    name = old.name.split(":")[0] if isinstance(old, tf.Variable) else None
    trainable = old.trainable if isinstance(old, tf.Variable) else True
    return tf.Variable(value, name=name, trainable=trainable, dtype=value.dtype)


def resize_variable(variable, new_num_tokens, **kwargs):
    """Eager helper: ``resize_matrix`` into a new Variable named like the old one."""
    return variable_like(variable, resize_matrix(variable, new_num_tokens, **kwargs))
