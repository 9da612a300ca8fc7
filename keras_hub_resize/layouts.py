"""Vocabulary layouts of keras-hub backbones that the generic rules of ``parts.find`` do not cover.

Each is keyed by the backbone's class name and read from keras-hub's source:

* ``PARSeqBackbone`` (keras_hub/src/models/parseq/): the tokenizer numbers ``[E]`` 0, the
  characters, then ``[B]`` and ``[P]`` last (parseq_tokenizer.py ``PARSeqTokenizer.set_vocabulary``),
  and the head predicts the ``vocabulary_size - 2`` ids before them (parseq_backbone.py
  ``PARSeqBackbone.__init__``: ``Dense(vocabulary_size - 2)``). A charset with new characters numbers
  them before ``[B]`` and ``[P]``, so the two special rows of the decoder's ``token_embedding`` stay
  last (they move to the end: the ``[B]`` row is the null context of every prediction) and the head
  (kernel ``[H, V-2]``, bias ``[V-2]``) is resized on its own, two entries short.
* ``Gemma3nBackbone`` (keras_hub/src/models/gemma3n/): the token table is
  ``language_model.embed_tokens.embedding`` (tied: gemma3n_text_model.py ``token_embedding(reverse=True)``
  multiplies by it); a second table, ``embed_tokens_per_layer.embedding [vocab_size_per_layer_input,
  L * P]``, gives every token per-layer inputs. When its size is the vocabulary size it is resized with
  it (new rows from its own initializer); when it is smaller (text ids below the multimodal ones)
  or the backbone has vision / audio embedders (gemma3n_backbone.py
  ``Gemma3nMultimodalEmbeddingProcessor.call`` routes every id ``>= audio_vocab_offset`` to the
  audio embedder, so an appended token would be read as audio), the resize refuses and says why.
* ``Gemma4Backbone`` with a per-layer token embedding smaller than the vocabulary: refused (a new id
  would have no row); of the vocabulary's size it is an ordinary ``*token_embedding`` (``parts``).
* ``Gemma4AssistantCausalLM`` (the speculative-decoding drafter) with ordered embeddings: its
  ``token_ordering`` and ``_vocab_size_per_centroid`` (``_gemma4_assistant``).
"""

from reference.errors import ResizeError

PARSEQ_SPECIALS = 2  # [B] and [P]


def _keras():
    import keras

    return keras


def main_embedding(backbone):
    """The token ``Embedding`` of a backbone whose layout names it differently, else None."""
    if type(backbone).__name__ == "Gemma3nBackbone":
        return backbone.language_model.embed_tokens.embedding
    return None


def extend(parts, layers, axis_cls):
    """Add the parts of ``parts.backbone``'s layout (axes, cached sizes, specials, a refusal)."""
    name = type(parts.backbone).__name__
    if name == "PARSeqBackbone":
        _parseq(parts, axis_cls)
    elif name == "Gemma3nBackbone":
        _gemma3n(parts, layers, axis_cls)
    elif name == "Gemma4Backbone":
        _gemma4(parts)
    if type(parts.model).__name__ == "Gemma4AssistantCausalLM" and parts.model.use_ordered_embeddings:
        _gemma4_assistant(parts, axis_cls)


def _gemma4(parts):
    table = getattr(parts.backbone, "per_layer_token_embedding", None)
    if table is not None and int(table.input_dim) != parts.size:
        parts.refusal = (
            f"Gemma4Backbone: its per-layer token embedding has {int(table.input_dim)} rows "
            f"(vocab_size_per_layer_input), not vocabulary_size {parts.size}; keras_hub/src/models/gemma4/"
            "gemma4_backbone.py Gemma4Backbone.__init__ looks every text id up in it, so a new id has no row")


def _gemma4_assistant(parts, axis_cls):
    """The drafter's ordered-embeddings head (keras_hub/src/models/gemma4/gemma4_assistant_causal_lm.py):
    ``token_ordering [V]`` lists the token ids of each of ``num_centroids`` centroids in turn,
    ``V / num_centroids`` each (``_apply_centroid_logits`` reshapes it so), and ``_vocab_size_per_centroid``
    caches that count. A new size must be a multiple of ``num_centroids``; growing appends the new ids
    to the centroids in turn (id ``V + i`` to centroid ``i % C``: a new token has no centroid of its own
    yet); shrinking drops the ids ``>= n`` from their centroids, which must then hold ``n / C`` each."""
    model = parts.model
    c = int(model.num_centroids)

    def check(n):
        if n % c:
            raise ResizeError(f"Gemma4AssistantCausalLM has {c} centroids of equal size (gemma4_assistant_causal_lm.py "
                              f"__init__): vocabulary_size {n} is not a multiple of {c}; pad_to_multiple_of={c} "
                              "gives one")

    def rebuild(value, n):
        import numpy as np

        order = np.asarray(value).astype(np.int64).reshape(c, -1)
        v = order.size
        if n >= v:
            new = np.arange(v, n).reshape(-1, c).T
            out = np.concatenate([order, new], axis=1)
        else:
            kept = [row[row < n] for row in order]
            if any(len(row) != n // c for row in kept):
                raise ResizeError(f"cannot shrink Gemma4AssistantCausalLM to {n}: its centroids would hold "
                                  f"{sorted({len(r) for r in kept})} tokens, not {n // c} each (the ids >= {n} "
                                  "are not spread evenly over the centroids)")
            out = np.stack(kept)
        return out.reshape(-1).astype(np.asarray(value).dtype)

    parts.checks.append(check)
    parts.axes.append(axis_cls(model, "token_ordering", 0, "state", rebuild=rebuild))
    parts.derived.append((model, "_vocab_size_per_centroid", lambda n: n // c))


def _parseq(parts, axis_cls):
    keras = _keras()
    head = parts.backbone.head
    s = PARSEQ_SPECIALS
    if not isinstance(head, keras.layers.Dense) or int(head.units) != parts.size - s:
        raise ValueError(f"PARSeqBackbone head has {getattr(head, 'units', None)} units, expected "
                         f"vocabulary_size - {s} = {parts.size - s}")
    parts.specials = s
    parts.axes.append(axis_cls(head, "_kernel", -1, "output", head.kernel_initializer, offset=-s))
    if head.use_bias:
        parts.axes.append(axis_cls(head, "bias", -1, "bias", offset=-s))
    parts.cached.append((head, "units", -s))


def _gemma3n(parts, layers, axis_cls):
    backbone, size = parts.backbone, parts.size
    text = backbone.language_model
    parts.cached.append((text.embed_tokens, "num_embeddings", 0))
    per_layer = text.embed_tokens_per_layer
    rows = int(per_layer.num_embeddings)
    if getattr(backbone, "embed_audio", None) is not None or getattr(backbone, "embed_vision", None) is not None:
        parts.refusal = (
            "Gemma3nBackbone with vision/audio embedders: keras_hub/src/models/gemma3n/gemma3n_backbone.py "
            "Gemma3nMultimodalEmbeddingProcessor.call reads every id >= audio_vocab_offset (and the vision range) "
            "from the multimodal embedders, so a token appended to the vocabulary would be embedded as audio")
        return
    if rows != size:
        parts.refusal = (
            f"Gemma3nBackbone: its per-layer input table has {rows} rows (vocab_size_per_layer_input), not "
            f"vocabulary_size {size}: ids from {rows} on get token 0's per-layer inputs "
            "(gemma3n_backbone.py Gemma3nMultimodalEmbeddingProcessor.call), so new ids cannot get rows of "
            "their own without changing that rule")
        return
    emb = per_layer.embedding
    parts.axes.append(axis_cls(emb, "_embeddings", 0, "input", emb.embeddings_initializer))
    parts.cached.append((per_layer, "num_embeddings", 0))
    parts.cached.append((emb, "input_dim", 0))
