"""Resize of a vocabulary-by-width matrix (the spec).

``resize_matrix(m, n)`` returns a ``[n, width]`` tensor whose first ``min(old, n)``
rows are bit-identical to ``m``'s and whose other rows come from the initializer
(truncated normal at 2 stddev, ``stddev=initializer_range``, by default; drawn by
inverse CDF since 2026-12: ``draw_truncated_normal``). It accepts a
``tf.Variable``, a ``tf.Tensor`` or a NumPy array, keeps the dtype (float16,
bfloat16, float32, float64), and runs eagerly or inside ``tf.function`` with
unknown static dimensions (``new_num_tokens`` may then be a scalar int tensor).

Cost: a grow is one ``concat`` of the kept prefix and the new rows, so the result is
the only full-size allocation and its bytes are written once; the prefix is a slice
that aliases the source (a variable's buffer too), and a shrink returns that alias
without copying. The grow runs as one cached ``tf.function`` per dtype, so the
non-finite scan and the draw of the new rows overlap the copy (``_grow_function``).
``resize_variable`` wraps the result in a Variable that shares its buffer.
``benchmarks/`` has the measurements (``resize-conformance bench``).

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
# The seeded stream of new rows, recorded in the golden files (harness/golden/generate.py).
# Until 2026-12-01: tf.random.stateless_truncated_normal(seed=[seed, 0x5EED]).
RANDOM_STREAM = "inverse-cdf/1: ndtri(stateless_uniform(seed=[seed, 0x5EED]) on [P(Z<-2), P(Z<2)]) * stddev"


# P(Z < -2) for a standard normal Z: the inverse CDF of a uniform on [TAIL, 1 - TAIL] is a
# normal truncated at +-2 (float32 rounding can land a hair beyond: clipped).
_TRUNCATION = 2.0
_TAIL = 0.022750131948179198
_SEED_SALT = 0x5EED


def seed_pair(seed=None):
    """The ``[2]`` int32 seed of the stateless draws: ``[seed, salt]``, or two numbers from
    TensorFlow's global random state when ``seed`` is None (``tf.random.set_seed`` applies)."""
    if seed is None:
        return tf.random.uniform([2], maxval=2**31 - 1, dtype=tf.int32)
    return tf.constant([int(seed), _SEED_SALT], tf.int32)


def draw_truncated_normal(shape, stddev, seed):
    """float32 ``shape`` values from a normal of ``stddev`` truncated at 2 stddev.

    Drawn by inverse CDF (``ndtri`` of a stateless uniform restricted to the central 95.45%),
    which gives the same distribution as redrawing values beyond 2 stddev (what
    ``tf.random.truncated_normal`` does) at about half its cost and with no rejection loop.
    ``seed`` is a ``[2]`` int tensor (``seed_pair``).
    """
    u = tf.random.stateless_uniform(shape, seed, minval=_TAIL, maxval=1.0 - _TAIL, dtype=tf.float32)
    z = tf.clip_by_value(tf.math.ndtri(u), -_TRUNCATION, _TRUNCATION)
    return z * tf.cast(stddev, tf.float32)


def truncated_normal_initializer(stddev=DEFAULT_INITIALIZER_RANGE, seed=None):
    """Initializer ``(shape, dtype) -> tensor``: truncated normal at 2 stddev (``draw_truncated_normal``).

    Drawn in float32 then cast, so a seed gives the same values for every dtype.
    With ``seed=None`` the draw uses TensorFlow's global random state.
    """

    def init(shape, dtype):
        return tf.cast(draw_truncated_normal(shape, stddev, seed_pair(seed)), dtype)

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


def _concat_and_scan(prefix, new_rows, scan):
    """The result (the one full-size allocation) and, with ``scan``, whether the prefix is finite."""
    out = tf.concat([prefix, new_rows], axis=0)
    return out, (_sum_is_finite(prefix) if scan else tf.constant(True))


@tf.function(autograph=False)
def _grow_given(prefix, new_rows, scan):
    return _concat_and_scan(prefix, new_rows, scan)


@tf.function(autograph=False)
def _grow_drawn(prefix, n_add, stddev, seed, scan):
    shape = tf.stack([n_add, tf.shape(prefix)[1]])
    return _concat_and_scan(prefix, tf.cast(draw_truncated_normal(shape, stddev, seed), prefix.dtype), scan)


_GROW_FUNCTIONS = {}


def _grow_function(dtype, draw, scan):
    """The grow for ``dtype``, traced once per process with unknown dims (a concrete function).

    ``(prefix, new_rows) -> (prefix ++ new_rows, sum of prefix is finite)``; with ``draw`` the
    new rows are drawn inside: ``(prefix, n_add, stddev, seed)``. One graph, because TensorFlow's
    executor then runs the non-finite scan of the prefix (a full read of it), the draw and the
    copy concurrently rather than one after the other, without per-op eager dispatch: the grow
    costs about one copy (``benchmarks/``). The concat is the only full-size allocation.
    """
    key = (dtype, draw, scan)
    fn = _GROW_FUNCTIONS.get(key)
    if fn is None:
        matrix = tf.TensorSpec([None, None], dtype)
        if draw:
            fn = _grow_drawn.get_concrete_function(matrix, tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.float32),
                                                   tf.TensorSpec([2], tf.int32), scan)
        else:
            fn = _grow_given.get_concrete_function(matrix, matrix, scan)
        _GROW_FUNCTIONS[key] = fn
    return fn


def _grow(prefix, n_add, init, default_draw, nonfinite):
    """``prefix`` followed by ``n_add`` initialised rows; ``prefix`` is scanned per ``nonfinite``."""
    scan = nonfinite == "error"
    dtype = prefix.dtype
    if default_draw:
        stddev, seed = default_draw
        fn = _grow_function(dtype, True, scan)
        out, finite = fn(prefix, tf.cast(n_add, tf.int32), tf.constant(stddev, tf.float32), seed_pair(seed))
    else:
        new_rows = tf.convert_to_tensor(init(tf.stack([n_add, tf.shape(prefix)[1]]), dtype))
        if new_rows.dtype != dtype:
            new_rows = tf.cast(new_rows, dtype)
        out, finite = _grow_function(dtype, False, scan)(prefix, new_rows)
    if not scan or (tf.executing_eagerly() and bool(finite)):
        return out
    # A non-finite sum (or, in a graph, not known yet): the exact check of _finite_or_raise.
    # In a graph it runs over every kept row only when the sum is not finite, after the copy.
    msg = "matrix holds NaN or Inf in rows that the resize keeps"
    if tf.executing_eagerly():
        _finite_or_raise(prefix, "matrix", nonfinite)
        return out
    lead = tf.where(finite, 0, tf.shape(prefix)[0])
    checked = tf.debugging.check_numerics(prefix[:lead], msg)
    with tf.control_dependencies([checked]):
        return tf.identity(out)


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
    initializer fits); by default a truncated normal with ``initializer_range``
    (``truncated_normal_initializer``), drawn inside the grow's compiled function.
    """
    x = as_tensor(matrix)
    _check_matrix(x)
    if nonfinite not in NONFINITE_POLICIES:
        raise ResizeError(f"nonfinite must be one of {NONFINITE_POLICIES}, got {nonfinite!r}")
    n = _check_size_argument(new_num_tokens, min_num_tokens)
    default_draw = None if initializer is not None else (float(initializer_range), seed)

    shape = tf.shape(x)
    old_n = shape[0]
    keep = tf.minimum(old_n, n)
    prefix = x[:keep]
    n_add = tf.maximum(n - old_n, 0)
    static_add = tf.get_static_value(n_add)  # known eagerly; None for a graph with unknown dims

    def shrink():  # a slice that aliases the source: no copy
        return _finite_or_raise(prefix, "matrix", nonfinite)

    def grow():
        return _grow(prefix, n_add, initializer, default_draw, nonfinite)

    if static_add is not None:
        return shrink() if static_add == 0 else grow()
    return tf.cond(n_add > 0, grow, shrink)


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
