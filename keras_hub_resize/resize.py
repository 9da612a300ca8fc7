"""Vocabulary resize of a keras-hub task model (or backbone), to the standard of ``reference/``.

``resize_token_embeddings(model, n)`` grows or shrinks every vocabulary-sized part that
``keras_hub_resize.parts.find`` reports: the token embedding (tied ``ReversibleEmbedding``: one
matrix; untied: also ``reverse_embeddings [H, V]``, resized on its last axis), a ``MaskedLMHead``'s
own kernel and its ``output_bias``, a ``Dense`` logits head, the tables and state of the layouts in
``keras_hub_resize.layouts`` (PARSeq, Gemma 3n, the Gemma 4 drafter); then every cached copy of the
size and the backbone's config (``vocabulary_size``), so ``get_config``, ``.keras`` files and
``save_to_preset`` / ``from_preset`` rebuild the model at the new size.

Semantics (as ``reference.model_resize``):

* ``None`` (without padding) returns the current input embeddings; the current size is a no-op;
* kept rows / entries are bit-exact; new rows come from the layer's own Keras initializer drawn at
  the *new full shape* (so they have the scale a fresh build of the new size has; ``seed`` makes
  them reproducible, the untied head with ``seed + 1``), from ``initializer``, or from the old rows'
  statistics (``mean_resizing``, ``reference.mean_init``); new bias entries are 0 (mean of the old
  ones with ``mean_resizing``);
* ``pad_to_multiple_of`` rounds the size up (``None`` size: the current one); under a layout that
  keeps special tokens last (PARSeq) it rounds the ids the head predicts, ``n - specials`` (the
  logits width), and the special rows move to the new end;
* a size the layout cannot have (the Gemma 4 drafter: a multiple of its centroids) or a model this
  resize cannot resize correctly (``VocabParts.refusal``) raises ``ResizeError`` saying why;
* atomic: everything is computed before anything is written; an error leaves the model as it was;
* tied stays tied (the head computes with the input variable), untied stays separate;
* each replaced variable keeps its name, path, dtype, trainability and position (saving is by
  position); functions traced before the resize still hold the old variables and must be traced
  again (Keras 3 variables have a fixed shape: ``keras_hub_resize.variables``);
* the task's tokenizer must fit: a tokenizer with more tokens than the new size is an error that
  says by how many (``VocabularyMismatchError``); a larger embedding than the tokenizer is allowed
  (padding rows, as in many presets).
"""

import tensorflow as tf

from keras_hub_resize import parts as vparts
from keras_hub_resize.variables import swap
from reference import mean_init
from reference.errors import NonFiniteError, ResizeError
from reference.matrix import resize_last_axis, resize_matrix
from reference.pad import padded_num_tokens
from reference.validate import validate_num_tokens


class VocabularyMismatchError(ResizeError):
    """The task's tokenizer has more tokens than the requested vocabulary size."""


def _seeded(init, seed):
    """A copy of Keras initializer ``init`` with ``seed`` (unchanged when it takes none)."""
    if init is None or seed is None or not hasattr(init, "get_config"):
        return init
    config = init.get_config()
    if "seed" not in config:
        return init
    return type(init).from_config({**config, "seed": int(seed)})


def full_shape_initializer(init, full_shape, axis, seed):
    """``(shape, dtype) -> tensor`` for ``resize_matrix``: the new entries a fresh build of
    ``full_shape`` would have, i.e. ``init`` drawn at the full new shape, last rows (axis 0) or last
    columns transposed (axis -1) taken."""
    init = _seeded(init, seed)

    def draw(shape, dtype):
        k = int(tf.get_static_value(shape[0]) if tf.is_tensor(shape) else shape[0])
        full = tf.convert_to_tensor(init(full_shape, dtype=dtype))
        return full[-k:] if axis == 0 else tf.transpose(full[:, -k:])

    return draw


def _resize_axis(value, n, axis, *, how, seed, initializer, init, min_num_tokens, nonfinite):
    """``value`` with its vocabulary axis resized to ``n`` (rows computed as a matrix resize)."""
    value = tf.convert_to_tensor(value)
    if how == "bias":
        rows = mean_init.mean_last_axis if initializer == "mean" else resize_last_axis
        return rows(value, n, min_num_tokens=min_num_tokens, nonfinite=nonfinite)
    matrix = value if axis == 0 else tf.transpose(value)
    if initializer == "mean":
        out = mean_init.mean_resize_matrix(matrix, n, seed=seed, min_num_tokens=min_num_tokens, nonfinite=nonfinite)
    else:
        if initializer is None and init is not None:
            full = (n, int(matrix.shape[1])) if axis == 0 else (int(matrix.shape[1]), n)
            initializer = full_shape_initializer(init, full, axis, seed)
        out = resize_matrix(matrix, n, seed=seed, initializer=initializer, min_num_tokens=min_num_tokens,
                            nonfinite=nonfinite)
    return out if axis == 0 else tf.transpose(out)


def _resize_part(part, n, specials, **kwargs):
    """The new value of ``part`` (a ``parts.Axis``) for a vocabulary of ``n``: its ordinary entries
    resized to ``n - specials`` (``_resize_axis``), then the special entries it holds put back last."""
    value = tf.convert_to_tensor(part.variable.value)
    held = specials if part.offset == 0 else 0
    if not held:
        return _resize_axis(value, n + part.offset, part.axis, **kwargs)
    ordinary = int(value.shape[part.axis]) - held
    head, tail = (value[:ordinary], value[ordinary:]) if part.axis == 0 else (value[..., :ordinary], value[..., ordinary:])
    if kwargs.get("nonfinite") == "error" and not bool(tf.reduce_all(tf.math.is_finite(tf.cast(tail, tf.float32)))):
        raise NonFiniteError(f"the {held} special rows kept last hold NaN or Inf")
    out = _resize_axis(head, n - held, part.axis, **kwargs)
    return tf.concat([out, tf.cast(tail, out.dtype)], axis=part.axis)


def check_tokenizer_fits(model, n):
    """Raise ``VocabularyMismatchError`` when the task's tokenizer has more tokens than ``n``."""
    size = vparts.tokenizer_size(model)
    if size is not None and size > n:
        raise VocabularyMismatchError(
            f"the tokenizer of {type(model).__name__} has {size} tokens but the new vocabulary size is {n}: "
            f"{size - n} token id(s) would have no embedding row; resize to at least {size} "
            "(or pass check_tokenizer=False)")


def resize_token_embeddings(model, new_num_tokens=None, *, seed=None, initializer=None, pad_to_multiple_of=None,
                            mean_resizing=False, min_num_tokens=1, nonfinite="error", check_tokenizer=True):
    """Resize the vocabulary of a keras-hub task or backbone to ``new_num_tokens``; return the
    (new) input embeddings variable. See the module docstring."""
    parts = vparts.find(model)
    if new_num_tokens is None and pad_to_multiple_of is None:
        return parts.input
    if mean_resizing and initializer is not None:
        raise ResizeError("mean_resizing draws new rows from the old rows' statistics; "
                          "do not pass an initializer as well")
    n = _new_size(parts, new_num_tokens, pad_to_multiple_of, min_num_tokens)
    if parts.refusal:
        raise ResizeError(f"cannot resize {type(model).__name__}: {parts.refusal}")
    for check in parts.checks:
        check(n)
    if check_tokenizer:
        check_tokenizer_fits(model, n)
    if n == parts.size and all(int(a.variable.shape[a.axis]) == n + a.offset for a in parts.axes):
        return parts.input
    # Compute everything first: nothing is written until every new value exists.
    values = []
    for axis in parts.axes:
        if axis.rebuild is not None:
            values.append(axis.rebuild(axis.variable.value, n))
            continue
        own_seed = None if seed is None else seed + (1 if axis.role == "output" else 0)
        values.append(_resize_part(
            axis, n, parts.specials, how="bias" if axis.role == "bias" else "matrix", seed=own_seed,
            initializer="mean" if mean_resizing else initializer, init=axis.init,
            min_num_tokens=max(1, min_num_tokens - parts.specials), nonfinite=nonfinite))
    return _apply(parts, n, values)


def _new_size(parts, new_num_tokens, pad_to_multiple_of, min_num_tokens):
    """The validated new vocabulary size. Under a layout with ``specials`` kept last the head
    predicts the other ``n - specials`` ids: that count is the one rounded up to the multiple (the
    logits width), and it must be at least 1."""
    s = parts.specials
    if pad_to_multiple_of is not None:
        base = parts.size if new_num_tokens is None else new_num_tokens
        validate_num_tokens(base, minimum=min_num_tokens)
        n = padded_num_tokens(base - s, pad_to_multiple_of, minimum=max(1, min_num_tokens - s)) + s
    else:
        n = validate_num_tokens(new_num_tokens, minimum=min_num_tokens)
    if n - s < 1:
        raise ResizeError(f"new_num_tokens={n} leaves no ordinary token: {type(parts.backbone).__name__} keeps "
                          f"{s} special tokens last and its head predicts the other new_num_tokens - {s}")
    return n


def _apply(parts, n, values):
    for axis, value in zip(parts.axes, values):
        swap(axis.layer, axis.attr, value)
    for obj, attr, offset in parts.cached:
        setattr(obj, attr, n + offset)
    for obj, attr, derive in parts.derived:
        setattr(obj, attr, derive(n))
    return parts.input


def vocabulary_size(model):
    """The vocabulary size the model's backbone config records."""
    return vparts.config_size(vparts.backbone_of(model))[1]
