"""Embedding-width (hidden size) resize, the spec.

Matrix level, ``resize_width(m, new_width, projection=None)`` on a ``[V, H]`` matrix:

* no projection, growing: the old columns are kept bit-exact, new columns are zero;
* no projection, shrinking: the first ``new_width`` columns are kept (truncation);
* a projection ``P`` of shape ``[H, H']``: the result is ``m @ P``, computed in
  float32 and cast back (``new_width`` may be omitted; if given it must be ``H'``).

The dtype is kept; it runs in ``tf.function`` with unknown dimensions. NaN/Inf in
values that reach the result follow ``resize_matrix``'s ``nonfinite`` policy.

Model level, ``resize_model_width(model, new_width, projection=None)`` on the
reference causal LM (embeddings -> causal mean -> body ``Dense(H -> H, tanh)`` ->
head). Scope, chosen so the model still runs: the input embeddings, an untied
decoder and the body are resized; the vocabulary bias is untouched. The body
kernel ``K [H, H]`` is resized on both axes by the same rule (zero padding,
truncation, or ``P^T K P``) and its bias ``b [H]`` on its axis (zeros,
truncation, or ``b P``). A tied model stays tied (one variable serves both). The
embeddings are written in place where their declared shape allows (``reference.inplace``);
the body's kernel and bias are new variables.
The config (``hidden_size``) and the layers' cached widths are updated.

Zero padding is function-preserving: the new hidden units see zero inputs and
zero bias, so they are ``tanh(0) = 0``, and their zero columns in the head add
nothing to the logits. A projection is function-preserving when ``P`` is a
partial permutation (each column selects at most one coordinate), since then
``tanh`` commutes with it; otherwise it is an approximation. Truncation drops
information and changes the logits.
"""

import tensorflow as tf

from reference.errors import ResizeError, ResizeTypeError
from reference.inplace import current_shape, write_into
from reference.matrix import _check_matrix, _finite_or_raise, as_tensor, variable_like
from reference.validate import validate_num_tokens


def _check_width(new_width):
    """A Python width now, or an int tensor width with a graph assertion."""
    if isinstance(new_width, (tf.Tensor, tf.Variable)):
        if not new_width.dtype.is_integer:
            raise ResizeTypeError(f"new_width must be an integer tensor, got dtype {new_width.dtype.name}")
        n = tf.cast(new_width, tf.int32)
        with tf.control_dependencies([tf.debugging.assert_positive(n, message="new_width must be positive")]):
            return tf.identity(n)
    return validate_num_tokens(new_width, name="new_width")


def _check_projection(projection, width, new_width):
    p = as_tensor(projection)
    _check_matrix(p, "projection")
    rows, cols = p.shape[0], p.shape[1]
    if rows is not None and width is not None and int(rows) != int(width):
        raise ResizeError(f"projection must have {int(width)} rows (the current width), got shape {p.shape}")
    if new_width is not None and cols is not None:
        n = validate_num_tokens(new_width, name="new_width")
        if n != int(cols):
            raise ResizeError(f"new_width={n} disagrees with the projection's {int(cols)} columns")
    return _finite_or_raise(p, "projection", "error")


def _pad_or_truncate(x, n, axis):
    """Keep the first ``min(old, n)`` entries along ``axis`` (0, or 1 of a matrix); pad with zeros."""
    shape = tf.shape(x)
    add = tf.reshape(tf.maximum(n - shape[axis], 0), [1])
    if axis == 0:
        kept, pad_shape = x[:n], tf.concat([add, shape[1:]], axis=0)
    else:
        kept, pad_shape = x[:, :n], tf.concat([shape[:1], add], axis=0)
    return tf.concat([kept, tf.zeros(pad_shape, x.dtype)], axis=axis)


def _project(x, p, dtype):
    return tf.cast(tf.linalg.matmul(tf.cast(x, tf.float32), tf.cast(p, tf.float32)), dtype)


def resize_width(matrix, new_width=None, *, projection=None, nonfinite="error"):
    """Return ``matrix`` ``[V, H]`` resized to ``[V, new_width]`` (see the module docstring)."""
    x = as_tensor(matrix)
    _check_matrix(x)
    if projection is not None:
        p = _check_projection(projection, x.shape[1], new_width)
        return _project(_finite_or_raise(x, "matrix", nonfinite), p, x.dtype)
    if new_width is None:
        raise ResizeError("pass new_width, a projection, or both")
    n = _check_width(new_width)
    kept = _finite_or_raise(x[:, :n], "matrix", nonfinite)
    return _pad_or_truncate(kept, n, axis=1)


def resize_square(kernel, new_width=None, *, projection=None):
    """A ``[H, H]`` kernel resized on both axes: pad/truncate both, or ``P^T K P``."""
    k = as_tensor(kernel)
    if projection is not None:
        p = _check_projection(projection, k.shape[0], new_width)
        p32 = tf.cast(p, tf.float32)
        k32 = tf.linalg.matmul(tf.linalg.matmul(p32, tf.cast(k, tf.float32), transpose_a=True), p32)
        return tf.cast(k32, k.dtype)
    n = _check_width(new_width)
    return _pad_or_truncate(_pad_or_truncate(k, n, axis=0), n, axis=1)


def resize_vector(values, new_width=None, *, projection=None):
    """A ``[H]`` vector resized: pad with zeros/truncate, or ``b P``."""
    b = as_tensor(values)
    if projection is not None:
        p = _check_projection(projection, b.shape[0], new_width)
        return _project(b[tf.newaxis, :], p, b.dtype)[0]
    n = _check_width(new_width)
    return _pad_or_truncate(b, n, axis=0)


def resize_model_width(model, new_width=None, *, projection=None, nonfinite="error"):
    """Resize the reference causal LM's hidden size; return the input embeddings (module docstring).

    Everything is computed before anything is set: an error leaves the model as it was.
    """
    old_in = model.get_input_embeddings()
    old_out = model.get_output_embeddings()
    width = current_shape(old_in)[1]
    if projection is None:
        n = validate_num_tokens(new_width, name="new_width")
        if n == width:
            return old_in
    tied = old_out is not None and old_out is old_in
    body = model.body
    new_in = resize_width(old_in, new_width, projection=projection, nonfinite=nonfinite)
    n = int(new_in.shape[1])
    new_out = None
    if old_out is not None and not tied:
        new_out = resize_width(old_out, new_width, projection=projection, nonfinite=nonfinite)
    kernel = variable_like(body.kernel, resize_square(body.kernel, new_width, projection=projection))
    bias = None
    if getattr(body, "bias", None) is not None:
        bias = variable_like(body.bias, resize_vector(body.bias, new_width, projection=projection))

    write_into(old_in, new_in, model.set_input_embeddings)  # in place where allowed (reference.inplace)
    if tied:
        model.set_output_embeddings(model.get_input_embeddings())
    elif new_out is not None:
        write_into(old_out, new_out, model.set_output_embeddings)
    body.kernel = kernel
    if bias is not None:
        body.bias = bias
    body.units = n
    if body.input_spec is not None:
        body.input_spec = type(body.input_spec)(min_ndim=2, axes={-1: n})
    model.config.hidden_size = n
    for layer in (getattr(model, "embed", None), getattr(model, "head", None)):
        if layer is not None and hasattr(layer, "hidden_size"):
            layer.hidden_size = n
    return model.get_input_embeddings()
