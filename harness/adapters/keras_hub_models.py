"""Every keras-hub task class with a token vocabulary, and a tiny backbone for each.

``class_names()`` lists every ``keras_hub.models`` export whose name ends in ``CausalLM``,
``MaskedLM`` or ``Seq2SeqLM`` (the generic base classes excluded), whether or not this module can
build it. ``build_task(name, vocab_size, tie, dtype)`` builds the task from constructor arguments
only (no presets, no downloads, ``preprocessor=None``): a backbone of hidden size 8, one or two
layers, one or two heads, a short sequence length, plus the fields an architecture needs
(``BACKBONES``). A class that is not in ``BACKBONES`` raises ``NotBuildable`` with the reason
(its subject is then an ``error``, never dropped), and a class whose task has no token vocabulary
raises ``Unsupported("no token vocabulary: ...")`` (its subject is ``not_applicable``).
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

SUFFIXES = ("CausalLM", "MaskedLM", "Seq2SeqLM")
BASES = frozenset(SUFFIXES)
H = 8  # hidden size of every tiny backbone


class Unsupported(Exception):
    """The class has no token vocabulary (message ``no token vocabulary: ...``): not applicable."""


class NotBuildable(Exception):
    """This adapter has no tiny configuration for the class yet (the subject is an error)."""


def _enc(vocab, **extra):
    """BERT-style encoder / GPT-style decoder arguments."""
    return dict(vocabulary_size=vocab, num_layers=1, num_heads=2, hidden_dim=H, intermediate_dim=16,
                max_sequence_length=32, **extra)


def _gqa(vocab, **extra):
    """Llama-style decoder arguments (grouped query attention)."""
    return dict(vocabulary_size=vocab, num_layers=1, num_query_heads=2, num_key_value_heads=1, hidden_dim=H,
                intermediate_dim=16, **extra)


def _t5gemma(vocab, **extra):
    side = {}
    for s in ("encoder", "decoder"):
        side.update({f"{s}_hidden_dim": H, f"{s}_intermediate_dim": 16, f"{s}_num_layers": 1,
                     f"{s}_num_attention_heads": 2, f"{s}_num_key_value_heads": 1, f"{s}_head_dim": 4,
                     f"{s}_layer_types": ["full_attention"]})
    return dict(vocabulary_size=vocab, **side, **extra)


# class -> (backbone class name, kwargs(vocab) -> dict, tie argument name or None).
BACKBONES = {
    "AlbertMaskedLM": ("AlbertBackbone", lambda v: dict(
        vocabulary_size=v, num_layers=1, num_heads=2, embedding_dim=H, hidden_dim=H, intermediate_dim=16,
        max_sequence_length=32), None),
    "BartSeq2SeqLM": ("BartBackbone", _enc, None),
    "BertMaskedLM": ("BertBackbone", _enc, None),
    "BloomCausalLM": ("BloomBackbone", lambda v: dict(
        vocabulary_size=v, num_layers=1, num_heads=2, hidden_dim=H, intermediate_dim=16), None),
    "DebertaV3MaskedLM": ("DebertaV3Backbone", lambda v: _enc(v, bucket_size=4), None),
    "DistilBertMaskedLM": ("DistilBertBackbone", _enc, None),
    "EdRecSeq2SeqLM": ("EdRecBackbone", lambda v: dict(
        vocab_size=v, num_layers_enc=1, num_layers_dec=1, hidden_dim=H, intermediate_dim=16, num_heads=2), None),
    "FNetMaskedLM": ("FNetBackbone", lambda v: dict(
        vocabulary_size=v, num_layers=1, hidden_dim=H, intermediate_dim=16, max_sequence_length=32), None),
    "FalconCausalLM": ("FalconBackbone", lambda v: dict(
        vocabulary_size=v, num_layers=1, num_attention_heads=2, hidden_dim=H, intermediate_dim=16), None),
    "GPT2CausalLM": ("GPT2Backbone", _enc, None),
    "GPTNeoXCausalLM": ("GPTNeoXBackbone", _enc, None),
    "GemmaCausalLM": ("GemmaBackbone", lambda v: _gqa(v, head_dim=4), None),
    "Gemma3CausalLM": ("Gemma3Backbone", lambda v: _gqa(v, head_dim=4, image_size=16, vision_encoder=None),
                       None),
    "Gemma4CausalLM": ("Gemma4Backbone", lambda v: _gqa(v, head_dim=4, image_size=16, vision_encoder=None),
                       None),
    "GptOssCausalLM": ("GptOssBackbone", lambda v: _gqa(v, num_experts=2, top_k=1, head_dim=4), None),
    "LlamaCausalLM": ("LlamaBackbone", _gqa, "tie_word_embeddings"),
    "Llama3CausalLM": ("Llama3Backbone", _gqa, "tie_word_embeddings"),
    "MistralCausalLM": ("MistralBackbone", _gqa, None),
    "MixtralCausalLM": ("MixtralBackbone", lambda v: _gqa(v, num_experts=2, top_k=1), None),
    "OPTCausalLM": ("OPTBackbone", _enc, None),
    "Phi3CausalLM": ("Phi3Backbone", _gqa, None),
    "QwenCausalLM": ("QwenBackbone", _gqa, "tie_word_embeddings"),
    "Qwen2CausalLM": ("QwenBackbone", _gqa, "tie_word_embeddings"),
    "Qwen3CausalLM": ("Qwen3Backbone", lambda v: _gqa(v, head_dim=4), "tie_word_embeddings"),
    "QwenMoeCausalLM": ("QwenMoeBackbone", lambda v: _gqa(
        v, moe_intermediate_dim=8, shared_expert_intermediate_dim=8, num_experts=2, top_k=1),
        "tie_word_embeddings"),
    "Qwen3MoeCausalLM": ("Qwen3MoeBackbone", lambda v: _gqa(
        v, moe_intermediate_dim=8, num_experts=2, top_k=1, head_dim=4), "tie_word_embeddings"),
    "Qwen3_5CausalLM": ("Qwen3_5Backbone", lambda v: _gqa(v, head_dim=4), "tie_word_embeddings"),
    "Qwen3_5MoeCausalLM": ("Qwen3_5MoeBackbone", lambda v: dict(
        vocabulary_size=v, num_layers=1, num_query_heads=2, num_key_value_heads=1, head_dim=4, hidden_dim=H,
        moe_intermediate_dim=8, shared_expert_intermediate_size=8, num_experts=2, top_k=1),
        "tie_word_embeddings"),
    "RobertaMaskedLM": ("RobertaBackbone", _enc, None),
    "RoformerV2MaskedLM": ("RoformerV2Backbone", lambda v: _enc(v, head_size=4), None),
    "RWKV7CausalLM": ("RWKV7Backbone", lambda v: dict(
        hidden_size=H, head_size=4, num_layers=1, vocabulary_size=v, intermediate_dim=16), None),
    "SmolLMCausalLM": ("SmolLM3Backbone", lambda v: dict(
        vocabulary_size=v, hidden_dim=H, intermediate_dim=16, num_layers=1, num_attention_heads=2,
        num_key_value_heads=1, attention_bias=False, attention_dropout=0.0, rope_layer_enabled_list=[True],
        layer_types=["full_attention"], mlp_bias=False, layer_norm_epsilon=1e-6, max_position_embeddings=32,
        rope_theta=10000.0, partial_rotary_factor=1.0), None),
    "T5Seq2SeqLM": ("T5Backbone", lambda v: dict(
        vocabulary_size=v, num_layers=1, num_heads=2, hidden_dim=H, intermediate_dim=16, key_value_dim=4),
        "tie_embedding_weights"),
    "T5GemmaSeq2SeqLM": ("T5GemmaBackbone", _t5gemma, None),
    "T5Gemma2Seq2SeqLM": ("T5Gemma2Backbone", _t5gemma, None),
    "XLMRobertaMaskedLM": ("XLMRobertaBackbone", _enc, None),
}
BACKBONES["SmolLM3CausalLM"] = BACKBONES["SmolLMCausalLM"]

# Classes whose task has no token vocabulary of its own to resize (demonstrated reason).
NO_VOCABULARY = {}


def _kh():
    import keras_hub  # noqa: PLC0415

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


def build_task(name, vocab_size, tie=None, dtype="float32"):
    """A built tiny task of class ``name`` with ``vocab_size`` tokens (``tie``: True/False/None)."""
    if name in NO_VOCABULARY:
        raise Unsupported(f"no token vocabulary: {NO_VOCABULARY[name]}")
    if name not in BACKBONES:
        raise NotBuildable(f"keras_hub adapter has no tiny configuration for {name} yet")
    kh = _kh()
    backbone_name, kwargs, tie_arg = BACKBONES[name]
    kw = kwargs(int(vocab_size))
    if tie_arg and tie is not None:
        kw[tie_arg] = bool(tie)
    backbone = getattr(kh.models, backbone_name)(**kw, dtype=dtype)
    return getattr(kh.models, name)(backbone=backbone, preprocessor=None)
