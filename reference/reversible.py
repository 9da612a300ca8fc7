"""Vocabulary resize of a Keras 3 ``keras.layers.ReversibleEmbedding`` (the spec, applied to Keras 3).

The layer holds ``embeddings [V, H]`` and, untied (``tie_weights=False``),
``reverse_embeddings [H, V]``: the decoder is stored transposed, so its resize
acts on its *last* axis (done here as a row resize of its transpose). Tied, the
reverse projection is ``embeddings^T`` and there is nothing else to resize.

Same semantics as ``reference.model_resize``: ``None`` (without padding) returns
the current embeddings; the current size is a no-op; new rows come from the
truncated normal (the untied decoder with ``seed + 1``), from ``initializer``,
or from the old rows' statistics (``mean_resizing``); ``pad_to_multiple_of``
rounds up; everything is computed before any variable is replaced. Replaced
variables keep their name, dtype and trainability, and the old ones are
untracked (as ``del`` on a Keras 3 layer would, minus its ``gc.collect()``). ``layer.input_dim``
is updated. Quantized layers are refused.

Keras 3 is imported by the caller (this module only touches the layer it gets).
"""

import tensorflow as tf

from reference import mean_init
from reference.errors import ResizeError
from reference.matrix import DEFAULT_INITIALIZER_RANGE, resize_matrix
from reference.pad import padded_num_tokens
from reference.remap import load_vocabulary, remap_matrix
from reference.validate import validate_num_tokens


def _check_layer(layer):
    if getattr(layer, "quantization_mode", None) is not None:
        raise ResizeError(f"cannot resize a quantized ({layer.quantization_mode}) ReversibleEmbedding")
    if getattr(layer, "lora_enabled", False):
        raise ResizeError("cannot resize a ReversibleEmbedding with LoRA enabled; merge or disable it first")
    if not layer.built:
        raise ResizeError("the ReversibleEmbedding is not built; build it before resizing")


def _replace(layer, attr, value):
    """Swap ``layer.<attr>`` for a new variable holding ``value`` (name, dtype, trainability kept)."""
    old = getattr(layer, attr)
    value = tf.convert_to_tensor(value)
    tracker = getattr(layer, "_tracker", None)
    locked = bool(getattr(tracker, "locked", False))
    if locked:
        tracker.unlock()
    try:
        if hasattr(layer, "_untrack_variable"):
            layer._untrack_variable(old)  # what ``del`` does, without its full gc.collect()
        else:
            delattr(layer, attr)
        setattr(layer, attr, layer.add_weight(
            shape=tuple(int(d) for d in value.shape), name=old.name, dtype=old.dtype,
            trainable=old.trainable, initializer=lambda shape, dtype=None: tf.cast(value, old.dtype)))
    finally:
        if locked:
            tracker.lock()


def _set(layer, new_embeddings, new_reverse, n):
    _replace(layer, "_embeddings", new_embeddings)
    if new_reverse is not None:
        _replace(layer, "reverse_embeddings", new_reverse)
    layer.input_dim = n
    return layer.embeddings


def resize_reversible_embedding(layer, new_num_tokens=None, *, seed=None, initializer=None,
                                initializer_range=DEFAULT_INITIALIZER_RANGE, min_num_tokens=1,
                                nonfinite="error", pad_to_multiple_of=None, mean_resizing=False):
    """Resize ``layer`` to ``new_num_tokens`` tokens; return its (new) embeddings variable."""
    _check_layer(layer)
    if new_num_tokens is None and pad_to_multiple_of is None:
        return layer.embeddings
    old_n = int(layer.embeddings.shape[0])
    base = old_n if new_num_tokens is None else new_num_tokens
    n = padded_num_tokens(base, pad_to_multiple_of, minimum=min_num_tokens)
    if n == old_n and int(layer.input_dim) == n:
        return layer.embeddings
    resize = mean_init.mean_resize_matrix if mean_resizing else resize_matrix
    kwargs = dict(initializer=initializer, initializer_range=initializer_range,
                  min_num_tokens=min_num_tokens, nonfinite=nonfinite)
    new_embeddings = resize(layer._embeddings.value, n, seed=seed, **kwargs)
    new_reverse = None
    if not layer.tie_weights:
        out_seed = None if seed is None else seed + 1
        new_reverse = tf.transpose(resize(tf.transpose(layer.reverse_embeddings.value), n,
                                          seed=out_seed, **kwargs))
    return _set(layer, new_embeddings, new_reverse, n)


def remap_reversible_embedding(layer, old_vocab, new_vocab, *, seed=None, initializer=None,
                               initializer_range=DEFAULT_INITIALIZER_RANGE, min_num_tokens=1,
                               nonfinite="error"):
    """Remap ``layer`` from ``old_vocab`` to ``new_vocab`` (``reference.remap`` rules)."""
    _check_layer(layer)
    old = load_vocabulary(old_vocab, name="old_vocab")
    new = load_vocabulary(new_vocab, name="new_vocab")
    if int(layer.embeddings.shape[0]) != len(old):
        raise ResizeError(f"the layer has {int(layer.embeddings.shape[0])} rows but old_vocab has {len(old)} tokens")
    n = validate_num_tokens(len(new), name="len(new_vocab)", minimum=min_num_tokens)
    if old == new:
        return layer.embeddings
    kwargs = dict(initializer=initializer, initializer_range=initializer_range,
                  min_num_tokens=min_num_tokens, nonfinite=nonfinite)
    new_embeddings = remap_matrix(old, new, layer._embeddings.value, seed=seed, **kwargs)
    new_reverse = None
    if not layer.tie_weights:
        out_seed = None if seed is None else seed + 1
        new_reverse = tf.transpose(remap_matrix(old, new, tf.transpose(layer.reverse_embeddings.value),
                                                seed=out_seed, **kwargs))
    return _set(layer, new_embeddings, new_reverse, n)
