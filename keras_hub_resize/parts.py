"""Find the vocabulary-sized parts of a keras-hub task model or backbone.

keras-hub has no accessor for "the token embedding and everything sized by the vocabulary";
this module finds them from the layers themselves, by type and by the backbone's declared size:

* the backbone's size: its config key ``vocabulary_size`` (``vocab_size`` / ``text_vocab_size``
  in a few backbones), read from the attribute ``get_config`` serialises; a backbone assembled
  from built sub-models (keras_hub/src/models/blip2/blip2_backbone.py ``BLIP2Backbone``) records
  it in its ``language_model``'s config instead;
* token embeddings: ``backbone.token_embedding`` (or ``backbone.embedding``; a ``ReversibleEmbedding``: tied, its reverse
  projection is ``embeddings^T``; untied, ``reverse_embeddings [H, V]``) and every other
  ``keras.layers.Embedding`` named ``*token_embedding`` whose ``input_dim`` is the vocabulary
  size;
* heads: every ``MaskedLMHead`` (its ``output_bias [V]``, and its own ``kernel [H, V]`` when it is
  not tied to a token embedding) and every untied ``Dense`` logits head named ``*head``
  (kernel ``[H, V]``, bias ``[V]``);
* cached sizes: ``input_dim`` of each token embedding and every integer ``vocabulary_size`` /
  ``vocab_size`` / ``vocab_size_per_layer_input`` attribute equal to the backbone's size on any layer
  of the model (heads, ``TokenAndPositionEmbedding``, the backbone itself);
* layouts the rules above do not cover (special tokens kept last, a second table, a token ordering):
  ``keras_hub_resize.layouts``.

A part with a vocabulary axis that this module does not know makes ``find`` fail loudly
(``UnknownVocabularyPart``) rather than be left at the old size.
"""

import dataclasses

from keras_hub_resize import layouts
from reference.errors import ResizeError

CONFIG_KEYS = ("vocabulary_size", "vocab_size", "text_vocab_size")
CACHED_ATTRS = ("vocabulary_size", "vocab_size", "vocab_size_per_layer_input")


class UnknownVocabularyPart(ResizeError):
    """The model holds a vocabulary-sized weight this resize does not know how to resize."""


@dataclasses.dataclass
class Axis:
    """One vocabulary-sized variable: ``layer.<attr>``, vocabulary on ``axis`` (0 rows, -1 last).

    Its vocabulary axis has ``size + offset`` entries (``offset`` -2: a head without the two special
    tokens a layout keeps last, ``VocabParts.specials``); with ``offset`` 0 it holds the specials too.
    ``rebuild(value, n)``, when set, computes the new value itself (state that is not rows of a
    matrix, e.g. a token ordering)."""

    layer: object
    attr: str
    axis: int
    role: str  # "input" | "output" | "bias" | "state"
    init: object = None  # the Keras initializer that built it (new entries of an input/output)
    offset: int = 0
    rebuild: object = None

    @property
    def variable(self):
        return getattr(self.layer, self.attr)


@dataclasses.dataclass
class VocabParts:
    model: object
    backbone: object
    config_key: str
    size: int
    embeddings: list       # token Embedding layers
    axes: list             # every Axis to resize, inputs first
    cached: list           # (object, attr, offset): integer copies of the size (+ offset)
    specials: int = 0      # special tokens the layout keeps last (they move to the end on a resize)
    refusal: str = None    # why this model cannot be resized (raised by a resize, never by find)
    checks: list = dataclasses.field(default_factory=list)   # f(n): raise ResizeError for a size it cannot have
    derived: list = dataclasses.field(default_factory=list)  # (object, attr, f(n)): a value derived from the size

    @property
    def input(self):
        """The input embedding matrix: of an encoder-decoder with two token tables (T5Gemma), the
        decoder's, which feeds the LM head (tied or not); else the only one."""
        inputs = [a for a in self.axes if a.role == "input"]
        return next((a.variable for a in inputs if a.layer.name.startswith("decoder")), inputs[0].variable)

    def tied(self):
        """True when no untied output matrix exists (the head computes with the input matrix)."""
        return not any(a.role == "output" for a in self.axes)


def _keras_hub():
    import keras_hub

    return keras_hub


def backbone_of(model):
    kh = _keras_hub()
    if isinstance(model, kh.models.Backbone):
        return model
    backbone = getattr(model, "backbone", None)
    if backbone is None:
        raise ResizeError(f"{type(model).__name__} is neither a keras_hub Backbone nor a task with a backbone")
    return backbone


def _own_size(obj):
    for key in CONFIG_KEYS:
        value = getattr(obj, key, None)
        if isinstance(value, int) and not isinstance(value, bool):
            return key, value
    return None


def config_owner(backbone):
    """The object whose config records the vocabulary size: the backbone, or the ``language_model``
    a ``BLIP2Backbone`` serialises in its ``get_config`` (the backbone has no size of its own)."""
    if _own_size(backbone) is None:
        sub = getattr(backbone, "language_model", None)
        if sub is not None and _own_size(sub) is not None:
            return sub
    return backbone


def config_size(backbone):
    """``(key, size)``: the backbone's vocabulary size as its config records it."""
    found = _own_size(config_owner(backbone))
    if found is None:
        raise ResizeError(f"{type(backbone).__name__} has no vocabulary size attribute ({', '.join(CONFIG_KEYS)})")
    return found


def _layers(model):
    return list(model._flatten_layers(include_self=True, recursive=True))


def _token_embeddings(backbone, layers, size):
    import keras

    found = [] if layouts.main_embedding(backbone) is None else [layouts.main_embedding(backbone)]
    for attr in ("token_embedding", "embedding"):  # ``embedding``: EdRecBackbone
        main = getattr(backbone, attr, None)
        if isinstance(main, keras.layers.Embedding) and all(main is not f for f in found):
            found.append(main)
    for layer in layers:
        if (isinstance(layer, keras.layers.Embedding) and layer.name.endswith("token_embedding")
                and int(layer.input_dim) == size and all(layer is not f for f in found)):
            found.append(layer)
    found = [f for f in found if int(f.input_dim) == size]
    if not found:
        raise UnknownVocabularyPart(f"{type(backbone).__name__}: no token embedding with {size} rows found")
    return found


def _dense_heads(layers, backbone, size):
    """Untied logits heads: ``keras.layers.Dense`` named ``*head`` with ``size`` units (e.g. the
    ``head`` of keras_hub/src/models/rwkv7/rwkv7_backbone.py RWKV7Backbone)."""
    import keras

    return [layer for layer in layers if isinstance(layer, keras.layers.Dense)
            and layer.name.endswith("head") and int(layer.units) == size and layer.built]


def find(model):
    """The ``VocabParts`` of a keras-hub task or backbone (see the module docstring)."""
    kh = _keras_hub()
    backbone = backbone_of(model)
    key, size = config_size(backbone)
    layers = _layers(model)
    embeddings = _token_embeddings(backbone, layers, size)
    for e in embeddings:
        if getattr(e, "quantization_mode", None) is not None:
            raise ResizeError(f"cannot resize a quantized ({e.quantization_mode}) embedding {e.name!r}")
        if getattr(e, "lora_enabled", False):
            raise ResizeError(f"cannot resize embedding {e.name!r} with LoRA enabled; merge or disable it first")
        if not e.built:
            raise ResizeError(f"embedding {e.name!r} is not built; build the model before resizing")
    axes = [Axis(e, "_embeddings", 0, "input", e.embeddings_initializer) for e in embeddings]
    for e in embeddings:
        if getattr(e, "tie_weights", True) is False:
            axes.append(Axis(e, "reverse_embeddings", -1, "output", e.embeddings_initializer))
    for layer in layers:
        if isinstance(layer, kh.layers.MaskedLMHead) and int(layer.vocabulary_size) == size:
            if layer.token_embedding is None:
                axes.append(Axis(layer, "_kernel", -1, "output", layer.kernel_initializer))
            axes.append(Axis(layer, "_bias", -1, "bias"))
    heads = _dense_heads(layers, backbone, size)
    for layer in heads:
        axes.append(Axis(layer, "_kernel", -1, "output", layer.kernel_initializer))
        if layer.use_bias:
            axes.append(Axis(layer, "bias", -1, "bias"))
    cached = [(e, "input_dim", 0) for e in embeddings] + [(d, "units", 0) for d in heads]
    for layer in layers:
        for attr in CACHED_ATTRS:
            value = layer.__dict__.get(attr)
            if isinstance(value, int) and not isinstance(value, bool) and value == size:
                cached.append((layer, attr, 0))
    owner = config_owner(backbone)
    if all(obj is not owner or attr != key for obj, attr, _ in cached):
        cached.append((owner, key, 0))
    parts = VocabParts(model, backbone, key, size, embeddings, axes, cached)
    layouts.extend(parts, layers, Axis)
    _check_known(parts)
    return parts


def _check_known(parts):
    """Every variable of the model with the vocabulary size (or, under a layout with specials kept
    last, that size minus them) on its first or last axis must be a known part (else a resize would
    leave it at the old size)."""
    known = {id(a.variable) for a in parts.axes}
    sizes = {parts.size, parts.size - parts.specials}
    for var in parts.model.weights:
        shape = tuple(int(d) for d in var.shape)
        if id(var) in known or not shape:
            continue
        if (shape[0] in sizes or shape[-1] in sizes) and _suspicious(var):
            raise UnknownVocabularyPart(
                f"{type(parts.model).__name__}: variable {var.path!r} {list(shape)} looks vocabulary-sized "
                f"({parts.size}) but is not a part this resize knows; refusing to leave it at the old size")


def _suspicious(var):
    """A vocabulary-sized variable by name (an embedding, logits head or token ordering), not by
    coincidence of dims: the name of the layer that owns it, not of an enclosing one
    (``mlm_head/intermediate_dense/kernel`` is ``[H, H]``, vocabulary-sized only when the vocabulary
    happens to equal the width)."""
    name = "/".join(var.path.lower().split("/")[-2:])
    return any(word in name for word in ("token_embedding", "embed_tokens", "head", "logits", "vocab", "output_bias",
                                         "token_ordering"))


def tokenizer_size(model):
    """The vocabulary size of the task's preprocessor tokenizer, or None without one."""
    preprocessor = getattr(model, "preprocessor", None)
    tokenizer = getattr(preprocessor, "tokenizer", None)
    if tokenizer is None:
        return None
    size = getattr(tokenizer, "vocabulary_size", None)
    try:
        size = size() if callable(size) else size
    except Exception:  # noqa: BLE001 - a tokenizer without its vocabulary loaded cannot say
        return None
    return int(size) if size is not None else None
