"""Mean-resizing: new rows drawn from the old rows' statistics (the spec).

Like transformers' PyTorch ``mean_resizing``
(``PreTrainedModel._init_added_embeddings_weights_with_mean``, 4.57): with ``mu``
the mean of the old rows and ``S = Xc^T Xc / N`` their (population) covariance,
new rows are samples of ``N(mu, covariance_scale * S)``; transformers 4.57 uses
``covariance_scale = 1e-9`` (the default here). Rules:

* statistics are computed in float32 whatever the storage dtype (a float16 sum
  overflows at 65504, a bfloat16 mean is off by several ulps), and the samples
  are cast back: the dtype is kept;
* ``S`` is positive definite when its smallest eigenvalue exceeds
  ``PD_RTOL * largest``; otherwise (fewer rows than the width, duplicate rows,
  a constant column, a single row) every new row is exactly the mean, cast;
* only rows that are entirely finite enter the statistics (with the default
  ``nonfinite="error"`` a NaN/Inf in a kept row raises before that); with no
  finite row at all the mean is zero. NaN never reaches a new row;
* deterministic under ``seed`` (stateless draws); ``seed=None`` uses TF's global RNG;
* bias entries: new entries are the float32 mean of the old entries along the
  last axis, cast (transformers adds noise of std ``1e-9 * std``, below float32
  resolution for ordinary biases);
* shrinking is the plain resize (nothing is initialised).

Graph-safe: eigen-decomposition instead of Cholesky, so a non-PD covariance
never raises or yields NaN inside ``tf.function``.
"""

import tensorflow as tf

from reference.bias import map_bias_dict
from reference.errors import ResizeError
from reference.matrix import as_tensor, resize_last_axis, resize_matrix, variable_like

COVARIANCE_SCALE = 1e-9
PD_RTOL = 1e-5
_SEED_SALT = 0x3EA1


def row_statistics(matrix):
    """``(mean [H], covariance [H, H], rows_used)`` of the finite rows, in float32."""
    x = tf.cast(as_tensor(matrix), tf.float32)
    finite_rows = tf.reduce_all(tf.math.is_finite(x), axis=1)
    x = tf.boolean_mask(x, finite_rows)
    count = tf.shape(x)[0]
    denom = tf.cast(tf.maximum(count, 1), tf.float32)
    mean = tf.reduce_sum(x, axis=0) / denom
    centered = x - mean
    covariance = tf.linalg.matmul(centered, centered, transpose_a=True) / denom
    return mean, covariance, count


def _eigen(covariance):
    """Eigen-decomposition of a covariance, non-finite entries zeroed (eigh must never see NaN)."""
    finite = tf.reduce_all(tf.math.is_finite(covariance))
    safe = tf.where(finite, covariance, tf.zeros_like(covariance))
    eigenvalues, vectors = tf.linalg.eigh(safe)
    return eigenvalues, vectors, finite


def is_positive_definite(covariance, rtol=PD_RTOL):
    """Scalar bool tensor: finite, and every eigenvalue > ``rtol * largest`` > 0."""
    eigenvalues, _, finite = _eigen(covariance)
    return _pd(eigenvalues, finite, rtol)


def _pd(eigenvalues, finite, rtol=PD_RTOL):
    largest = tf.reduce_max(eigenvalues)
    return finite & (largest > 0) & (tf.reduce_min(eigenvalues) > rtol * largest)


def mean_initializer(matrix, *, seed=None, covariance_scale=COVARIANCE_SCALE):
    """Initializer ``(shape, dtype)`` drawing rows from ``N(mu, covariance_scale * S)`` of ``matrix``."""
    if not covariance_scale > 0:
        raise ResizeError(f"covariance_scale must be > 0, got {covariance_scale!r}")

    def init(shape, dtype):
        mean, covariance, count = row_statistics(matrix)
        eigenvalues, vectors, finite = _eigen(covariance)
        pd = (count > 1) & _pd(eigenvalues, finite)
        scale = tf.sqrt(covariance_scale * tf.maximum(eigenvalues, 0.0))
        if seed is None:
            z = tf.random.normal(shape, dtype=tf.float32)
        else:
            z = tf.random.stateless_normal(shape, seed=[int(seed), _SEED_SALT], dtype=tf.float32)
        samples = mean + tf.linalg.matmul(z * scale, vectors, transpose_b=True)
        means = tf.broadcast_to(mean, tf.shape(samples))
        rows = tf.where(pd & tf.reduce_all(tf.math.is_finite(samples)), samples, means)
        return tf.cast(rows, dtype)

    return init


def mean_resize_matrix(matrix, new_num_tokens, *, seed=None, covariance_scale=COVARIANCE_SCALE,
                       min_num_tokens=1, nonfinite="error", initializer=None, initializer_range=None):
    """``resize_matrix`` whose new rows come from ``mean_initializer`` (see the module docstring).

    ``initializer_range`` is accepted (and unused) so the call matches ``resize_matrix``;
    a custom ``initializer`` contradicts mean-resizing and is an error.
    """
    if initializer is not None:
        raise ResizeError("mean_resizing draws new rows from the old rows' statistics; "
                          "do not pass an initializer as well")
    init = mean_initializer(matrix, seed=seed, covariance_scale=covariance_scale)
    return resize_matrix(matrix, new_num_tokens, initializer=init, min_num_tokens=min_num_tokens,
                         nonfinite=nonfinite)


def mean_resize_variable(variable, new_num_tokens, **kwargs):
    """Eager helper: ``mean_resize_matrix`` into a new Variable named like the old one."""
    return variable_like(variable, mean_resize_matrix(variable, new_num_tokens, **kwargs))


def mean_last_axis(values, new_num_tokens, *, min_num_tokens=1, nonfinite="error"):
    """Resize a bias on its last axis: old entries kept, new entries = float32 mean of the finite old ones."""
    x = as_tensor(values)
    padded = resize_last_axis(x, new_num_tokens, min_num_tokens=min_num_tokens, nonfinite=nonfinite)
    old_n = tf.shape(x)[-1]
    x32 = tf.cast(x, tf.float32)
    finite = tf.math.is_finite(x32)
    total = tf.reduce_sum(tf.where(finite, x32, 0.0), axis=-1, keepdims=True)
    count = tf.reduce_sum(tf.cast(finite, tf.float32), axis=-1, keepdims=True)
    mean = tf.cast(total / tf.maximum(count, 1.0), x.dtype)
    positions = tf.range(tf.shape(padded)[-1])
    return tf.where(positions >= old_n, tf.broadcast_to(mean, tf.shape(padded)), padded)


def mean_resize_bias_dict(bias, new_num_tokens, *, min_num_tokens=1, nonfinite="error"):
    """``resize_bias_dict`` with mean-initialised new entries; Variables come back as new Variables."""
    return map_bias_dict(bias, lambda value: mean_last_axis(
        value, new_num_tokens, min_num_tokens=min_num_tokens, nonfinite=nonfinite))
