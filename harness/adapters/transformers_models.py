"""Every TF model class transformers exposes through its TF auto mappings, with a tiny config.

``list_classes()`` reads every ``TF_*_MAPPING_NAMES`` of
``transformers.models.auto.modeling_tf_auto`` (deduplicated, sorted) and says for each
class whether the conformance adapter can build it, or a one-line reason why not
(``unsupported``): nothing is dropped silently. ``tiny_config(name, vocab_size)`` makes a
small random config (hidden 32, 2 layers, 4 heads, intermediate 37, 64 positions) plus the
extra fields an architecture needs. No weights are ever downloaded.
"""

import dataclasses
import functools
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

DEFAULT_VOCAB = 99
SUPPORTED, UNSUPPORTED = "supported", "unsupported"

# Fields set on any config that has them (only if the default config has the attribute).
GENERIC = dict(
    hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
    max_position_embeddings=64, embedding_size=32, n_embd=32, n_layer=2, n_head=4, n_positions=64,
    n_ctx=64, n_inner=37, d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
    decoder_attention_heads=4, encoder_ffn_dim=37, decoder_ffn_dim=37, d_kv=8, d_ff=37, num_layers=2,
    num_decoder_layers=2, num_heads=4, dff=37, emb_dim=32, n_heads=4, n_layers=2, dim=32, hidden_dim=37,
    d_inner=37, d_head=8, rotary_dim=4, num_key_value_heads=2, max_target_positions=64,
    max_source_positions=64, num_hidden_groups=1, sliding_window=16, attention_window=4,
)
# Per model_type extra fields (applied after GENERIC).
EXTRA = {
    "mobilebert": dict(embedding_size=32, intra_bottleneck_size=32, true_hidden_size=32,
                       num_feedforward_networks=1, hidden_size=32),
    "funnel": dict(block_sizes=[1, 1], num_decoder_layers=1, d_model=32, n_head=4, d_head=8, d_inner=37,
                   num_hidden_layers=None),
    "transfo-xl": dict(cutoffs=[], d_embed=32, div_val=1, mem_len=4, clamp_len=8, adaptive=False,
                       max_position_embeddings=None),
    "xlnet": dict(mem_len=None, d_model=32, n_head=4, d_head=8, max_position_embeddings=None),
    "ctrl": dict(n_embd=32, dff=37),
    "tapas": dict(type_vocab_sizes=[3, 10, 10, 10, 10, 10, 10]),
    "convbert": dict(embedding_size=32, head_ratio=2, conv_kernel_size=3, num_groups=1),
    "deberta-v2": dict(relative_attention=False, pos_att_type=None),
    "deberta": dict(relative_attention=False, pos_att_type=None),
    "led": dict(attention_window=[4, 4], max_encoder_position_embeddings=64, max_decoder_position_embeddings=64),
    "longformer": dict(attention_window=4),
    "rembert": dict(input_embedding_size=32, output_embedding_size=32),
    "opt": dict(ffn_dim=37, word_embed_proj_dim=32),
    "xglm": dict(ffn_dim=37),
    "t5": dict(relative_attention_num_buckets=8),
    "mt5": dict(relative_attention_num_buckets=8),
    "esm": dict(pad_token_id=0, mask_token_id=1, position_embedding_type="absolute"),
    "roformer": dict(embedding_size=32, rotary_value=False),
    "layoutlmv3": dict(input_size=16, patch_size=8, coordinate_size=6, shape_size=4,
                       max_2d_position_embeddings=128, rel_pos_bins=8, max_rel_pos=16,
                       rel_2d_pos_bins=8, max_rel_2d_pos=16),
    "flaubert": dict(emb_dim=32, n_heads=4, n_layers=2),
    "xlm": dict(emb_dim=32, n_heads=4, n_layers=2),
    "mistral": dict(num_key_value_heads=2, head_dim=8),
    "gptj": dict(rotary_dim=4),
}
# Classes or model types that are listed but cannot run, with the reason.
_TRANSFO_XL = ("deprecated Transfo-XL: adaptive embeddings split the vocabulary over several matrices, "
               "and modeling_tf_transfo_xl.py TFTransfoXLMainLayer._resize_token_embeddings raises NotImplementedError")
UNSUPPORTED_CLASSES = {
    "TFTransfoXLModel": _TRANSFO_XL, "TFTransfoXLLMHeadModel": _TRANSFO_XL,
    "TFTransfoXLForSequenceClassification": _TRANSFO_XL,
    "TFLxmertModel": "needs visual_feats and visual_pos inputs beside the ids (not driven by this adapter yet)",
    "TFLxmertForPreTraining": "needs visual_feats and visual_pos inputs beside the ids (not driven by this adapter yet)",
    "TFFlaubertForMultipleChoice": "cannot be constructed: modeling_tf_flaubert.py TFFlaubertForMultipleChoice.__init__ "
                                   "reads config.initializer_range, which FlaubertConfig lacks (it has init_std)",
    "TFCamembertForMultipleChoice": "modeling_tf_camembert.py TFCamembertForMultipleChoice.call passes "
                                    "output_attentions/output_hidden_states positionally into the wrong main-layer "
                                    "parameters, so no hidden states come back to score",
    "TFBartForSequenceClassification": "classifies on the <eos> states and rejects batches whose rows hold "
                                       "different numbers of <eos> ids, so arbitrary id batches cannot be scored",
    "TFRagModel": "needs a retriever and a question-encoder/generator pair, not one config",
    "TFRagSequenceForGeneration": "needs a retriever and a question-encoder/generator pair, not one config",
    "TFRagTokenForGeneration": "needs a retriever and a question-encoder/generator pair, not one config",
}


@dataclasses.dataclass(frozen=True)
class ModelEntry:
    name: str
    mapping_kinds: tuple   # e.g. ("FOR_MASKED_LM", "WITH_LM_HEAD")
    model_types: tuple     # auto-mapping keys, e.g. ("bert",)
    status: str            # supported | unsupported
    reason: str = ""


@functools.lru_cache(maxsize=1)
def _mappings():
    from transformers.models.auto import modeling_tf_auto as auto

    out = {}
    for attr in sorted(dir(auto)):
        if not (attr.startswith("TF_") and attr.endswith("_MAPPING_NAMES")):
            continue
        kind = attr[len("TF_"):-len("_MAPPING_NAMES")]
        kind = kind[len("MODEL_"):] if kind.startswith("MODEL_") else kind
        for model_type, names in getattr(auto, attr).items():
            for name in (names if isinstance(names, (list, tuple)) else (names,)):
                kinds, types = out.setdefault(name, (set(), set()))
                kinds.add(kind or "MODEL")
                types.add(model_type)
    return {k: (tuple(sorted(v[0])), tuple(sorted(v[1]))) for k, v in sorted(out.items())}


def class_names():
    """Every TF model class name in the auto mappings, sorted."""
    return list(_mappings())


def model_class(name):
    import transformers

    return getattr(transformers, name)


def _static_reason(name):
    """Why ``name`` cannot be built, from its config class alone (None if it may be)."""
    if name in UNSUPPORTED_CLASSES:
        return UNSUPPORTED_CLASSES[name]
    cls = model_class(name)
    cfg_cls = getattr(cls, "config_class", None)
    if cfg_cls is None:
        return "class has no config_class"
    if name.endswith(("EncoderDecoderModel",)) or name == "TFVisionTextDualEncoderModel":
        return "composite model: built from two sub-model configs (out of this first part's scope)"
    try:
        cfg = cfg_cls()
    except Exception as exc:  # noqa: BLE001 - a config that needs arguments
        return f"default config cannot be created: {type(exc).__name__}"
    main_input = getattr(cls, "main_input_name", "input_ids")
    if main_input != "input_ids":
        if getattr(cfg, "is_encoder_decoder", False) and hasattr(cfg, "vocab_size"):
            return (f"{main_input}-to-text seq2seq: the encoder needs {main_input} "
                    "(its decoder vocabulary is not driven by this adapter yet)")
        return f"main input is {main_input}, not token ids: no vocabulary input embedding to resize"
    if any(hasattr(cfg, k) for k in ("vision_config", "perceiver_config")):
        return "multimodal: needs pixel inputs beside the ids (not driven by this adapter yet)"
    if not hasattr(cfg, "vocab_size") and not any(
            hasattr(getattr(cfg, sub, None), "vocab_size") for sub in ("text_config",)):
        return "no token vocabulary (vision/audio-only config: no vocab_size)"
    return None


def tiny_config(name, vocab_size=DEFAULT_VOCAB, tie=None):
    """A small config for ``name`` with ``vocab_size``; ``tie`` sets tie_word_embeddings if given."""
    cls = model_class(name)
    cfg_cls = cls.config_class
    base = cfg_cls()
    mtype = getattr(cfg_cls, "model_type", "")
    values = {k: v for k, v in GENERIC.items() if hasattr(base, k) and v is not None}
    values.update(EXTRA.get(mtype, {}))
    values = {k: v for k, v in values.items() if v is not None}  # None in EXTRA: leave the default
    values["vocab_size"] = int(vocab_size)
    for key in ("pad_token_id", "bos_token_id", "eos_token_id", "decoder_start_token_id",
                "sep_token_id", "cls_token_id", "mask_token_id", "unk_token_id", "forced_eos_token_id",
                "forced_bos_token_id"):
        value = values.get(key, getattr(base, key, None))
        if isinstance(value, int) and value >= vocab_size:
            values[key] = vocab_size - 1
    if tie is not None:
        values["tie_word_embeddings"] = bool(tie)
    return cfg_cls(**values)


def list_classes():
    """``[ModelEntry]`` for every class in the TF auto mappings, sorted by name."""
    return list(_entries())


@functools.lru_cache(maxsize=1)
def _entries():
    return tuple(entry(name) for name in _mappings())


@functools.lru_cache(maxsize=None)
def entry(name):
    """The entry of one class (imports only that class's module, not all 251)."""
    mappings = _mappings()
    if name not in mappings:
        raise KeyError(f"{name!r} is not in transformers' TF auto mappings")
    kinds, types = mappings[name]
    try:
        reason = _static_reason(name)
    except Exception as exc:  # noqa: BLE001 - e.g. the class no longer imports
        reason = f"cannot import: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
    return ModelEntry(name, kinds, types, UNSUPPORTED if reason else SUPPORTED, reason or "")
