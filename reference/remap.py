"""Vocabulary remap (warm start), the spec.

Given the vocabulary an embedding matrix was trained with (``old_vocab``, one
token per row) and a new vocabulary, ``remap_matrix`` returns a ``[len(new), H]``
matrix where the row of every token present in both moves to the token's new
position (bit-exact) and every other row comes from the initializer, called
once with shape ``[len(new), H]``: row ``j`` of its result is used for new token
``j`` (so a ``Constant(values)`` initializer gives exactly ``values[j]``, as in
``tf.keras.utils.warmstart_embedding_matrix``). The default initializer is a
truncated normal with ``initializer_range``, seeded by ``seed``.

Vocabularies: a list, tuple, 1-D NumPy array, 1-D ``tf.Tensor``, or a path
(``str`` or ``os.PathLike``) to a UTF-8 text file with one token per line (lines
as ``str.splitlines`` sees them, like Keras). ``bytes`` tokens (what a string
tensor yields) are decoded as UTF-8 and NumPy scalars become Python scalars, so
a tensor, an array, a list and a file naming the same tokens are the same
vocabulary. Policy (differs from Keras, which lets duplicates through silently):

* a token appearing twice in either vocabulary is an error (two rows for one
  token make lookups ambiguous, and which old row should move is undefined);
* an empty vocabulary is an error (an embedding has at least one row);
* ``len(old_vocab)`` must equal the matrix's row count;
* moved rows follow the non-finite policy of ``resize_matrix``; rows that are
  not moved are not inspected.

All errors are ``ResizeError``. Bias entries move the same way; entries of new
tokens are zero. Graph-safe: vocabularies are Python values, the matrix may be a
symbolic tensor of unknown shape.
"""

import os

import numpy as np
import tensorflow as tf

from reference.bias import map_bias_dict
from reference.errors import ResizeError, ResizeTypeError
from reference.inplace import current_shape
from reference.matrix import (
    DEFAULT_INITIALIZER_RANGE,
    _check_matrix,
    _finite_or_raise,
    as_tensor,
    truncated_normal_initializer,
)
from reference.model_resize import apply_resized, is_tied
from reference.validate import validate_num_tokens


def _token(value):
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.generic):
        return _token(value.item())
    return value


def load_vocabulary(vocab, *, name="vocabulary"):
    """The vocabulary as a list of tokens, checked: non-empty, no duplicates (see module docstring)."""
    if isinstance(vocab, (str, os.PathLike)):
        path = os.fspath(vocab)
        if not os.path.isfile(path):
            raise ResizeError(f"{name}: vocabulary file {path!r} does not exist")
        with open(path, encoding="utf-8") as f:
            tokens = f.read().splitlines()
    elif isinstance(vocab, (tf.Tensor, tf.Variable, np.ndarray)):
        array = vocab.numpy() if hasattr(vocab, "numpy") else vocab
        if array.ndim != 1:
            raise ResizeError(f"{name} must be 1-D, got shape {list(array.shape)}")
        tokens = [_token(t) for t in array.tolist()]
    elif isinstance(vocab, (list, tuple)):
        tokens = [_token(t) for t in vocab]
    else:
        raise ResizeTypeError(f"{name} must be a list, tuple, 1-D array or tensor, or a file path; "
                              f"got {type(vocab).__name__}")
    if not tokens:
        raise ResizeError(f"{name} is empty; a vocabulary needs at least one token")
    first = {}
    for i, token in enumerate(tokens):
        if token in first:
            raise ResizeError(f"{name} holds token {token!r} twice (positions {first[token]} and {i}); "
                              "tokens must be unique")
        first[token] = i
    return tokens


def vocabulary_mapping(old_tokens, new_tokens):
    """``(old_rows, new_rows)``: int32 arrays pairing each shared token's old and new position."""
    where = {token: i for i, token in enumerate(old_tokens)}
    pairs = [(where[t], j) for j, t in enumerate(new_tokens) if t in where]
    old_rows = np.array([p[0] for p in pairs], dtype=np.int32)
    new_rows = np.array([p[1] for p in pairs], dtype=np.int32)
    return old_rows, new_rows


def _check_rows(x, n_old, what):
    rows = x.shape[0] if x.shape.rank else None
    if rows is not None:
        if int(rows) != n_old:
            raise ResizeError(f"{what} has {int(rows)} rows but the old vocabulary has {n_old} tokens")
        return x
    with tf.control_dependencies([tf.debugging.assert_equal(
            tf.shape(x)[0], n_old, message=f"{what} rows != len(old_vocab)")]):
        return tf.identity(x)


def remap_matrix(old_vocab, new_vocab, matrix, *, initializer=None,
                 initializer_range=DEFAULT_INITIALIZER_RANGE, seed=None, min_num_tokens=1,
                 nonfinite="error"):
    """Return ``matrix`` remapped from ``old_vocab`` rows to ``new_vocab`` rows (module docstring)."""
    old = load_vocabulary(old_vocab, name="old_vocab")
    new = load_vocabulary(new_vocab, name="new_vocab")
    validate_num_tokens(len(new), name="len(new_vocab)", minimum=min_num_tokens)
    x = as_tensor(matrix)
    _check_matrix(x)
    x = _check_rows(x, len(old), "matrix")
    width = x.shape[1] if x.shape[1] is not None else tf.shape(x)[1]
    init = initializer or truncated_normal_initializer(initializer_range, seed)
    base = tf.convert_to_tensor(init([len(new), width], x.dtype))
    if base.dtype != x.dtype:
        base = tf.cast(base, x.dtype)
    old_rows, new_rows = vocabulary_mapping(old, new)
    if not len(old_rows):
        return base
    moved = _finite_or_raise(tf.gather(x, old_rows), "matrix", nonfinite)
    return tf.tensor_scatter_nd_update(base, new_rows[:, None], moved)


def remap_last_axis(old_vocab, new_vocab, values, *, nonfinite="error"):
    """Remap a bias-like tensor on its last axis: shared tokens move, new tokens get 0."""
    old = load_vocabulary(old_vocab, name="old_vocab")
    new = load_vocabulary(new_vocab, name="new_vocab")
    x = as_tensor(values)
    _check_matrix(x, "bias", min_rank=1, exact_rank=None)
    rank = x.shape.rank
    perm = [rank - 1] + list(range(rank - 1))
    xt = _check_rows(tf.transpose(x, perm), len(old), "bias (last axis)")
    shape = tf.concat([[len(new)], tf.shape(xt)[1:]], axis=0)
    base = tf.zeros(shape, x.dtype)
    old_rows, new_rows = vocabulary_mapping(old, new)
    if len(old_rows):
        moved = _finite_or_raise(tf.gather(xt, old_rows), "bias", nonfinite)
        base = tf.tensor_scatter_nd_update(base, new_rows[:, None], moved)
    inverse = list(range(1, rank)) + [0]
    return tf.transpose(base, inverse)


def remap_token_embeddings(model, old_vocab, new_vocab, *, initializer=None, seed=None, nonfinite="error"):
    """Remap a whole model (the ``reference.model_resize`` interface); return the input embeddings.

    Input embeddings, an untied head (its own init, ``seed + 1``) and every bias entry
    are remapped; a tied model stays tied (the same variable); the config and cached
    sizes become ``len(new_vocab)``. Identical vocabularies are a no-op. Everything is
    computed before anything is set, so an error leaves the model as it was; the values are
    written in place like ``resize_token_embeddings`` (``reference.inplace``).
    """
    old = load_vocabulary(old_vocab, name="old_vocab")
    new = load_vocabulary(new_vocab, name="new_vocab")
    config = model.config
    minimum = getattr(config, "min_vocab_size", 1) or 1
    old_in = model.get_input_embeddings()
    rows = current_shape(old_in)[0]
    if rows != len(old):
        raise ResizeError(f"the model has {rows} rows but old_vocab has {len(old)} tokens")
    validate_num_tokens(len(new), name="len(new_vocab)", minimum=minimum)
    if old == new:
        return old_in
    old_out, old_bias = model.get_output_embeddings(), model.get_bias()
    tied = is_tied(model)
    kwargs = dict(initializer=initializer, nonfinite=nonfinite, min_num_tokens=minimum,
                  initializer_range=getattr(config, "initializer_range", DEFAULT_INITIALIZER_RANGE))
    new_in = remap_matrix(old, new, old_in, seed=seed, **kwargs)
    new_out = None
    if old_out is not None and not tied:
        out_seed = None if seed is None else seed + 1
        new_out = remap_matrix(old, new, old_out, seed=out_seed, **kwargs)
    new_bias = map_bias_dict(old_bias, lambda value: remap_last_axis(old, new, value, nonfinite=nonfinite),
                             variables=False) if old_bias else None
    return apply_resized(model, len(new), new_in, new_out, new_bias, tied=tied)
