"""Every keras-hub task class with a token vocabulary, and a tiny backbone for each.

``class_names()`` lists every ``keras_hub.models`` export whose name ends in ``CausalLM``,
``MaskedLM`` or ``Seq2SeqLM`` (the generic base classes excluded), whether or not this module can
build it. ``build_task(name, vocab_size, tie, dtype, width)`` builds the task from constructor
arguments only (no presets, no downloads, ``preprocessor=None``): a backbone of hidden size ``width``
(8 by default; heads and head sizes follow it), one layer, a short sequence length, plus the fields
an architecture needs (``BACKBONES``). A width the architecture cannot have, or a class that is not
in ``BACKBONES`` (``NOT_CONFIGURED`` says why), raises ``NotBuildable`` with the reason (its subject
or case is then an ``error``, never dropped; a property example with such a width is rejected and
redrawn instead), and a class whose task has no token vocabulary
raises ``Unsupported("no token vocabulary: ...")`` (its subject is ``not_applicable``).
"""

import contextlib
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

SUFFIXES = ("CausalLM", "MaskedLM", "Seq2SeqLM")
BASES = frozenset(SUFFIXES)
H = 8  # hidden size of every tiny backbone


class Unsupported(Exception):
    """The class has no token vocabulary (message ``no token vocabulary: ...``): not applicable."""


class NotBuildable(Exception):
    """This adapter has no tiny configuration for the class yet (the subject is an error)."""


def _heads(w):
    """Attention heads for a head size of ``w // heads`` (2 heads when ``w`` is even, as at H)."""
    return 2 if w % 2 == 0 else 1


def _rope_heads(w):
    """(query heads, key/value heads) such that the derived head size ``w // heads`` is even (RoPE
    rotates pairs: keras_hub/src/layers/modeling/rotary_embedding.py ``_apply_rotary_pos_emb``
    splits the head in two halves)."""
    if w % 4 == 0:
        return 2, 1
    if w % 2 == 0:
        return 1, 1
    if w >= 5:
        return w // 2, 1  # head size 2; the attention output projects back to w
    raise NotBuildable(f"no backbone of hidden size {w}: its head size is hidden_dim // num_query_heads "
                       "and rotary position embedding needs an even head size (widths 1 and 3 have none)")


def _enc(vocab, w, **extra):
    """BERT-style encoder / GPT-style decoder arguments."""
    return dict(vocabulary_size=vocab, num_layers=1, num_heads=_heads(w), hidden_dim=w, intermediate_dim=2 * w,
                max_sequence_length=32, **extra)


def _gqa(vocab, w, **extra):
    """Llama-style decoder arguments (grouped query attention). With an explicit ``head_dim`` the
    head size is independent of the width; without it, it is ``w // num_query_heads``, kept even."""
    if "head_dim" in extra:
        q, kv = 2, 1
    else:
        q, kv = _rope_heads(w)
    return dict(vocabulary_size=vocab, num_layers=1, num_query_heads=q, num_key_value_heads=kv, hidden_dim=w,
                intermediate_dim=2 * w, **extra)


def _t5gemma(vocab, w, **extra):
    side = {}
    for s in ("encoder", "decoder"):
        side.update({f"{s}_hidden_dim": w, f"{s}_intermediate_dim": 2 * w, f"{s}_num_layers": 1,
                     f"{s}_num_attention_heads": 2, f"{s}_num_key_value_heads": 1, f"{s}_head_dim": 4,
                     f"{s}_layer_types": ["full_attention"]})
    return dict(vocabulary_size=vocab, **side, **extra)


def _neox(v, w):
    """GPT-NeoX rotates the first ``int(head_size * rotary_percentage)`` features: 2 of them (an even
    rotary size, keras_hub/src/models/gpt_neo_x/gpt_neo_x_attention.py), none for a head size of 1."""
    heads = 2 if w % 4 == 0 else 1
    head = w // heads
    return _enc(v, w, rotary_percentage=0.0 if head < 2 else 2.5 / head) | {"num_heads": heads}


def _roformer(v, w):
    """RoFormer V2's heads times head size is the hidden size, and its rotary embedding needs an even head size."""
    if w % 2:
        raise NotBuildable(f"no backbone of hidden size {w}: num_heads * head_size must equal hidden_dim and the "
                           "rotary embedding (keras_hub/src/models/roformer_v2/roformer_v2_attention.py) needs an "
                           "even head size")
    head = 4 if w % 4 == 0 else 2
    return _enc(v, w, head_size=head) | {"num_heads": w // head}


def _smollm3(v, w):
    q, kv = _rope_heads(w) if w not in (1, 3) else (1, 1)
    return dict(vocabulary_size=v, hidden_dim=w, intermediate_dim=2 * w, num_layers=1, num_attention_heads=q,
                num_key_value_heads=kv, attention_bias=False, attention_dropout=0.0,
                rope_layer_enabled_list=[w not in (1, 3)],  # no even head size: the layer without RoPE
                layer_types=["full_attention"], mlp_bias=False, layer_norm_epsilon=1e-6,
                max_position_embeddings=32, rope_theta=10000.0, partial_rotary_factor=1.0)


def _blip2_backbone(language_model, **kw):
    """A ``BLIP2Backbone`` assembled from built sub-models (keras_hub/src/models/blip2/blip2_backbone.py
    takes them built): a ViT vision encoder of a 16x16 image in 8x8 patches (4 patches and a class
    token), a one-layer Q-Former of 2 query tokens, and the language model ``language_model``
    (``"BLIP2CustomOPT"`` or ``"BLIP2FlanT5"``) built from ``kw``; the query tokens are the language
    model's visual prefix, its token embedding the backbone's."""
    kh = _kh()
    dtype = kw.pop("dtype", None)
    vision = kh.models.BLIP2VisionEncoder(
        image_size=16, patch_size=8, num_layers=1, num_heads=2, hidden_dim=8, intermediate_dim=16,
        use_patch_bias=True, use_class_token=True, use_mha_bias=True, use_mlp_bias=True, dropout_rate=0.0,
        layer_norm_epsilon=1e-6, initializer_range=0.02, dtype=dtype)
    qformer = kh.models.BLIP2QFormer(
        num_query_tokens=2, num_layers=1, num_heads=2, hidden_dim=8, intermediate_dim=16, vision_dim=8,
        cross_attention_frequency=1, dropout=0.0, layer_norm_epsilon=1e-6, dtype=dtype)
    lm = getattr(kh.models, language_model)(num_query_tokens=2, qformer_hidden_dim=8, dropout=0.0, dtype=dtype, **kw)
    return kh.models.BLIP2Backbone(vision_encoder=vision, qformer=qformer, language_model=lm, dtype=dtype)


def _parseq_backbone(**kw):
    """A ``PARSeqBackbone`` over a tiny ViT image encoder (16x16 images in 8x8 patches, no class
    token); ``vocabulary_size`` counts ``[E]``, the characters, ``[B]`` and ``[P]``
    (keras_hub/src/models/parseq/parseq_tokenizer.py), the head predicts all but the last two. The encoder
    is as wide as the decoder, whose cross-attention projects memory of its own width
    (keras_hub/src/models/parseq/parseq_decoder.py ``PARSeqDecoderBlock.build``)."""
    kh = _kh()
    w = kw["decoder_hidden_dim"]
    encoder = kh.models.ViTBackbone(image_shape=(16, 16, 3), patch_size=8, num_layers=1, num_heads=_heads(w),
                                    hidden_dim=w, mlp_dim=2 * w, use_class_token=False, dtype=kw.get("dtype"))
    return kh.models.PARSeqBackbone(image_encoder=encoder, dropout_rate=0.0, attention_dropout=0.0, **kw)


# class -> (backbone class name or a function(**kwargs, dtype) -> backbone, kwargs(vocab, width) -> dict,
# tie argument name or None).
BACKBONES = {
    "AlbertMaskedLM": ("AlbertBackbone", lambda v, w: dict(  # the embedding width is its own
        vocabulary_size=v, num_layers=1, num_heads=2, embedding_dim=w, hidden_dim=H, intermediate_dim=16,
        max_sequence_length=32), None),
    "BartSeq2SeqLM": ("BartBackbone", _enc, None),
    "BLIP2CausalLM": (lambda **kw: _blip2_backbone("BLIP2CustomOPT", **kw), lambda v, w: dict(
        vocabulary_size=v, num_layers=1, num_heads=_heads(w), hidden_dim=w, intermediate_dim=2 * w,
        max_sequence_length=32), None),
    "BLIP2Seq2SeqLM": (lambda **kw: _blip2_backbone("BLIP2FlanT5", **kw), lambda v, w: dict(
        vocabulary_size=v, num_layers=1, num_heads=2, hidden_dim=w, intermediate_dim=2 * w, key_value_dim=4),
        None),
    "BertMaskedLM": ("BertBackbone", _enc, None),
    "BloomCausalLM": ("BloomBackbone", lambda v, w: dict(
        vocabulary_size=v, num_layers=1, num_heads=_heads(w), hidden_dim=w, intermediate_dim=2 * w), None),
    "DebertaV3MaskedLM": ("DebertaV3Backbone", lambda v, w: _enc(v, w, bucket_size=4), None),
    "DistilBertMaskedLM": ("DistilBertBackbone", _enc, None),
    "EdRecSeq2SeqLM": ("EdRecBackbone", lambda v, w: dict(
        vocab_size=v, num_layers_enc=1, num_layers_dec=1, hidden_dim=w, intermediate_dim=2 * w,
        num_heads=_heads(w)), None),
    "FNetMaskedLM": ("FNetBackbone", lambda v, w: dict(
        vocabulary_size=v, num_layers=1, hidden_dim=w, intermediate_dim=2 * w, max_sequence_length=32), None),
    "FalconCausalLM": ("FalconBackbone", lambda v, w: dict(
        vocabulary_size=v, num_layers=1, num_attention_heads=_heads(w), hidden_dim=w, intermediate_dim=2 * w),
        None),
    "GPT2CausalLM": ("GPT2Backbone", _enc, None),
    "GPTNeoXCausalLM": ("GPTNeoXBackbone", _neox, None),
    "GemmaCausalLM": ("GemmaBackbone", lambda v, w: _gqa(v, w, head_dim=4), None),
    "Gemma3nCausalLM": ("Gemma3nBackbone", lambda v, w: dict(  # text only; per-layer table of the vocabulary's size
        text_vocab_size=v, text_hidden_size=w, num_hidden_layers=1, pad_token_id=0, num_attention_heads=2,
        num_key_value_heads=1, head_dim=4, intermediate_size=[2 * w], hidden_activation="gelu_approximate",
        layer_types=["full_attention"], sliding_window=4, rope_theta=10000.0, max_position_embeddings=32,
        vocab_size_per_layer_input=v, hidden_size_per_layer_input=2, altup_num_inputs=2, laurel_rank=1), None),
    "Gemma3CausalLM": ("Gemma3Backbone", lambda v, w: _gqa(v, w, head_dim=4, image_size=16, vision_encoder=None),
                       None),
    "Gemma4CausalLM": ("Gemma4Backbone", lambda v, w: _gqa(v, w, head_dim=4, image_size=16, vision_encoder=None),
                       None),
    "Gemma4AssistantCausalLM": ("Gemma4Backbone", lambda v, w: _gqa(  # KV-shared drafter layers
        v, w, head_dim=4, image_size=16, vision_encoder=None, num_kv_shared_layers=1), None),
    "GptOssCausalLM": ("GptOssBackbone", lambda v, w: _gqa(v, w, num_experts=2, top_k=1, head_dim=4), None),
    "LlamaCausalLM": ("LlamaBackbone", _gqa, "tie_word_embeddings"),
    "Llama3CausalLM": ("Llama3Backbone", _gqa, "tie_word_embeddings"),
    "MistralCausalLM": ("MistralBackbone", lambda v, w: _gqa(v, w, head_dim=4), None),
    "MixtralCausalLM": ("MixtralBackbone", lambda v, w: _gqa(v, w, num_experts=2, top_k=1), None),
    "OPTCausalLM": ("OPTBackbone", _enc, None),
    "PaliGemmaCausalLM": ("PaliGemmaBackbone", lambda v, w: _gqa(  # a 16x16 image: 4 patch tokens before the text
        v, w, head_dim=4, image_size=16, vit_patch_size=8, vit_num_heads=1, vit_hidden_dim=8, vit_num_layers=1,
        vit_intermediate_dim=16), None),
    "PARSeqCausalLM": (_parseq_backbone, lambda v, w: dict(
        vocabulary_size=v, max_label_length=15, decoder_hidden_dim=w, num_decoder_layers=1,
        num_decoder_heads=_heads(w), decoder_mlp_dim=2 * w), None),
    "Phi3CausalLM": ("Phi3Backbone", _gqa, None),
    "QwenCausalLM": ("QwenBackbone", _gqa, "tie_word_embeddings"),
    "Qwen2CausalLM": ("QwenBackbone", _gqa, "tie_word_embeddings"),
    "Qwen3CausalLM": ("Qwen3Backbone", lambda v, w: _gqa(v, w, head_dim=4), "tie_word_embeddings"),
    "QwenMoeCausalLM": ("QwenMoeBackbone", lambda v, w: _gqa(
        v, w, moe_intermediate_dim=8, shared_expert_intermediate_dim=8, num_experts=2, top_k=1),
        "tie_word_embeddings"),
    "Qwen3MoeCausalLM": ("Qwen3MoeBackbone", lambda v, w: _gqa(
        v, w, moe_intermediate_dim=8, num_experts=2, top_k=1, head_dim=4), "tie_word_embeddings"),
    "Qwen3_5CausalLM": ("Qwen3_5Backbone", lambda v, w: _gqa(v, w, head_dim=4), "tie_word_embeddings"),
    "Qwen3_5MoeCausalLM": ("Qwen3_5MoeBackbone", lambda v, w: dict(
        vocabulary_size=v, num_layers=1, num_query_heads=2, num_key_value_heads=1, head_dim=4, hidden_dim=w,
        moe_intermediate_dim=8, shared_expert_intermediate_size=8, num_experts=2, top_k=1),
        "tie_word_embeddings"),
    "RobertaMaskedLM": ("RobertaBackbone", _enc, None),
    "RoformerV2MaskedLM": ("RoformerV2Backbone", _roformer, None),
    "RWKV7CausalLM": ("RWKV7Backbone", lambda v, w: dict(
        hidden_size=w, head_size=4 if w % 4 == 0 else (2 if w % 2 == 0 else 1), num_layers=1, vocabulary_size=v,
        intermediate_dim=2 * w), None),
    "SmolLMCausalLM": ("SmolLM3Backbone", _smollm3, None),
    "T5Seq2SeqLM": ("T5Backbone", lambda v, w: dict(
        vocabulary_size=v, num_layers=1, num_heads=2, hidden_dim=w, intermediate_dim=2 * w, key_value_dim=4),
        "tie_embedding_weights"),
    "T5GemmaSeq2SeqLM": ("T5GemmaBackbone", _t5gemma, None),
    "T5Gemma2Seq2SeqLM": ("T5Gemma2Backbone", _t5gemma, None),
    "XLMRobertaMaskedLM": ("XLMRobertaBackbone", _enc, None),
}
BACKBONES["SmolLM3CausalLM"] = BACKBONES["SmolLMCausalLM"]

def _assistant_task(backbone):
    """A Gemma4AssistantCausalLM drafter over ``backbone`` for a stand-in target of the same width, with
    one centroid (any vocabulary size divides by it) and its ``token_ordering`` a seeded permutation of
    the vocabulary, as a preset has it (it is built as zeros: keras_hub/src/models/gemma4/
    gemma4_assistant_causal_lm.py ``__init__``)."""
    import keras

    task = _kh().models.Gemma4AssistantCausalLM(backbone=backbone, backbone_hidden_size=backbone.hidden_dim,
                                                num_centroids=1, centroid_intermediate_top_k=1,
                                                use_ordered_embeddings=True)
    order = keras.random.shuffle(keras.ops.arange(backbone.vocabulary_size))
    task.token_ordering.assign(keras.ops.cast(order, "float32"))
    return task


def assistant_logits(task, ids):
    """``[B, T, V]`` draft logits of a Gemma4AssistantCausalLM (it cannot be called standalone: its
    layers read the target model's KV cache): every position is one ``call_with_cache`` draft step of a
    stand-in target that shares the drafter's token table (its embedding of the id is both the last
    token's embedding and the last hidden state) and has an empty two-layer KV cache of two zero entries;
    the logits come from the ordered-embeddings head (``_apply_centroid_logits``: ``token_ordering``)."""
    import tensorflow as tf

    ids = tf.convert_to_tensor(ids, tf.int32)
    flat = tf.reshape(ids, [-1, 1])
    emb = task.backbone.token_embedding(flat)
    bb = task.backbone
    cache = tf.zeros(tf.stack([tf.shape(flat)[0], 2, 2, 2, bb.num_key_value_heads, bb.head_dim]), emb.dtype)
    logits, _ = task.call_with_cache(emb, emb, cache, 0)
    return tf.reshape(logits, tf.concat([tf.shape(ids), tf.shape(logits)[-1:]], 0))


# class -> logits(task, ids) for a task that is not driven by calling it on its inputs.
DRIVERS = {"Gemma4AssistantCausalLM": assistant_logits}

# class -> task(backbone) for a task built with more than ``backbone`` and ``preprocessor=None``.
TASKS = {"Gemma4AssistantCausalLM": _assistant_task}

# Task constructor arguments a class needs besides ``backbone`` and ``preprocessor=None``. PARSeq:
# keras_hub/src/models/parseq/parseq_causal_lm.py PARSeqCausalLM.compile reads
# ``self.preprocessor.tokenizer.pad_token_id`` and Task.__init__ (keras_hub/src/models/task.py) compiles
# by default, so without ``compile=False`` the task cannot be built without a preprocessor (whose
# PARSeqTokenizer needs tensorflow-text); its reload (``from_config`` / ``from_preset``) has no such way
# out (manifests/keras_hub.toml).
TASK_KWARGS = {"PARSeqCausalLM": {"compile": False}}

# Classes whose task has no token vocabulary of its own to resize (demonstrated reason).
NO_VOCABULARY = {}

# Classes with a vocabulary but no tiny configuration yet: why (the subject is an ``error`` saying so).
NOT_CONFIGURED = {
}


def _kh():
    import keras_hub

    return keras_hub


def class_names():
    """Every keras-hub task class ending in CausalLM / MaskedLM / Seq2SeqLM (sorted)."""
    kh = _kh()
    return sorted(n for n in dir(kh.models) if n.endswith(SUFFIXES) and n not in BASES)


def is_task_class(name):
    return name in class_names()


def tie_modes(name):
    """The tie modes a class can be built in: both when its backbone takes a tie argument."""
    if name not in BACKBONES:
        return None
    return ("tied", "untied") if BACKBONES[name][2] else None  # None: as built (probed)


def _reject_in_property_example():
    """Inside a hypothesis example (a property case), a width the architecture cannot have is not a
    model to judge: the example is rejected and hypothesis draws another. Elsewhere the caller raises."""
    from hypothesis import control

    if control.currently_in_test_context():
        control.reject()


def build_task(name, vocab_size, tie=None, dtype="float32", width=H, nearest=False):
    """A built tiny task of class ``name`` with ``vocab_size`` tokens (``tie``: True/False/None) and token
    embeddings ``width`` wide (the hidden size; ALBERT's own embedding size). A width the architecture
    cannot have raises ``NotBuildable`` (rejects a property example), or with ``nearest`` builds the next
    width it can have and records ``(asked, built, why)`` in ``task._conformance_width_note``."""
    if name in NO_VOCABULARY:
        raise Unsupported(f"no token vocabulary: {NO_VOCABULARY[name]}")
    if name not in BACKBONES:
        why = NOT_CONFIGURED.get(name, "no tiny configuration yet")
        raise NotBuildable(f"keras_hub adapter cannot build {name}: {why}")
    kh = _kh()
    backbone_name, kwargs, tie_arg = BACKBONES[name]
    kw, note = _kwargs(name, kwargs, int(vocab_size), int(width), nearest)
    if tie_arg and tie is not None:
        kw[tie_arg] = bool(tie)
    make = getattr(kh.models, backbone_name) if isinstance(backbone_name, str) else backbone_name
    backbone = make(**kw, dtype=dtype)
    if name in TASKS:
        task = TASKS[name](backbone)
    else:
        task = getattr(kh.models, name)(backbone=backbone, preprocessor=None, **TASK_KWARGS.get(name, {}))
    if note:
        task._conformance_width_note = note
    return task


def _kwargs(name, kwargs, vocab, width, nearest):
    """``(constructor arguments, None)`` for ``width`` when the architecture can have it; else, inside a
    property example, the example is rejected; else ``(arguments, (width, built, why))`` for the next width it
    can have if ``nearest``."""
    try:
        return _exact(kwargs, vocab, width), None
    except NotBuildable as e:
        _reject_in_property_example()
        if nearest:
            for w in range(width + 1, width + 8):
                with contextlib.suppress(NotBuildable):
                    return _exact(kwargs, vocab, w), (width, w, str(e))
        raise NotBuildable(f"{name}: {e}") from None


def _exact(kwargs, vocab, width):
    if width < 2:
        raise NotBuildable(f"no backbone of hidden size {width} shows anything: a hidden state of one feature "
                           "is normalised to a constant (LayerNorm: x - mean(x) = 0) or its sign (RMSNorm), so "
                           "logits and gradients do not depend on the embedding values")
    return kwargs(vocab, width)
