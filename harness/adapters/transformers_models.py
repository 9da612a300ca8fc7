"""Every TF model class transformers exports, with a tiny config.

``class_names()`` lists every top-level ``transformers.TF*`` attribute that is a subclass of
``TFPreTrainedModel`` (sorted), whether or not an auto mapping names it; ``list_classes()``
gives each one's auto-mapping kinds as metadata (empty for a class in no mapping). Nothing is
decided here about whether a class can be driven: the adapter's probe builds it and decides
(harness/adapters/transformers_probe.py). ``tiny_config(name, vocab_size)`` makes a small
random config (hidden 32, 1 layer, 4 heads, intermediate 37, 64 positions) plus the fields an
architecture needs, sub-configs (text/vision/perceiver) shrunk the same way and composite
configs (encoder-decoder, dual encoder, RAG) assembled from tiny sub-configs. No weights are
ever downloaded.
"""

import dataclasses
import functools
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

DEFAULT_VOCAB = 99
SUPPORTED = "supported"  # every entry: the probe decides (driven, failing, or no vocabulary)

# Fields set on any config that has them (only if the default config has the attribute).
GENERIC = dict(
    hidden_size=32, num_hidden_layers=1, num_attention_heads=4, intermediate_size=37,
    max_position_embeddings=64, embedding_size=32, n_embd=32, n_layer=1, n_head=4, n_positions=64,
    n_ctx=64, n_inner=37, d_model=32, encoder_layers=1, decoder_layers=1, encoder_attention_heads=4,
    decoder_attention_heads=4, encoder_ffn_dim=37, decoder_ffn_dim=37, d_kv=8, d_ff=37, num_layers=1,
    num_decoder_layers=1, num_heads=4, dff=37, emb_dim=32, n_heads=4, n_layers=1, dim=32, hidden_dim=37,
    d_inner=37, d_head=8, rotary_dim=4, num_key_value_heads=2, max_target_positions=64,
    max_source_positions=64, num_hidden_groups=1, sliding_window=16, attention_window=4,
    image_size=32, patch_size=8, projection_dim=16, embed_dim=32,
)
# Per model_type extra fields (applied after GENERIC).
EXTRA = {
    "mobilebert": dict(embedding_size=32, intra_bottleneck_size=32, true_hidden_size=32,
                       num_feedforward_networks=1, hidden_size=32),
    "funnel": dict(block_sizes=[1, 1], num_decoder_layers=1, d_model=32, n_head=4, d_head=8, d_inner=37,
                   num_hidden_layers=None),
    "xlnet": dict(mem_len=None, d_model=32, n_head=4, d_head=8, max_position_embeddings=None),
    "ctrl": dict(n_embd=32, dff=37),
    "tapas": dict(type_vocab_sizes=[3, 10, 10, 10, 10, 10, 10]),
    "convbert": dict(embedding_size=32, head_ratio=2, conv_kernel_size=3, num_groups=1),
    "deberta-v2": dict(relative_attention=False, pos_att_type=None),
    "deberta": dict(relative_attention=False, pos_att_type=None),
    "led": dict(attention_window=[4], max_encoder_position_embeddings=64, max_decoder_position_embeddings=64),
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
    "flaubert": dict(emb_dim=32, n_heads=4, n_layers=1),
    "xlm": dict(emb_dim=32, n_heads=4, n_layers=1),
    "mistral": dict(num_key_value_heads=2, head_dim=8),
    "gptj": dict(rotary_dim=4),
    "lxmert": dict(l_layers=1, x_layers=1, r_layers=1, visual_feat_dim=8, visual_pos_dim=4, num_qa_labels=5,
                   num_object_labels=5, num_attr_labels=5),
    "speech_to_text": dict(conv_channels=8, input_feat_per_channel=8, conv_kernel_sizes=[3, 3]),
    "whisper": dict(num_mel_bins=8, max_source_positions=16, classifier_proj_size=8),
    "blip": dict(image_text_hidden_size=16),
    "blip_text_model": dict(encoder_hidden_size=32),
    "groupvit": dict(projection_intermediate_dim=37),
    "groupvit_vision_model": dict(depths=[1, 1], num_group_tokens=[4, 0], num_output_groups=[4, 4]),
    "idefics": dict(cross_layer_interval=1),
    "idefics_perciever": dict(resampler_n_latents=4, resampler_depth=1, resampler_n_heads=2,
                              resampler_head_dim=8),
    "wav2vec2": dict(conv_dim=(8, 8), conv_stride=(4, 4), conv_kernel=(8, 8), num_conv_pos_embeddings=4,
                     num_conv_pos_embedding_groups=2),
    "dpr": dict(projection_dim=None),  # > 0 breaks the build (modeling_tf_dpr.py TFDPREncoderLayer.build)
    "transfo-xl": dict(d_embed=32, div_val=2, mem_len=4, clamp_len=8, max_position_embeddings=None),
    "hubert": dict(conv_dim=(8, 8), conv_stride=(4, 4), conv_kernel=(8, 8), num_conv_pos_embeddings=4,
                   num_conv_pos_embedding_groups=2),
}
SUB_CONFIGS = ("text_config", "vision_config", "perceiver_config")
SPECIAL_TOKENS = ("pad_token_id", "bos_token_id", "eos_token_id", "decoder_start_token_id", "sep_token_id",
                  "cls_token_id", "mask_token_id", "unk_token_id", "forced_eos_token_id", "forced_bos_token_id")


@dataclasses.dataclass(frozen=True)
class ModelEntry:
    name: str
    mapping_kinds: tuple   # e.g. ("FOR_MASKED_LM", "WITH_LM_HEAD"); () for a class in no auto mapping
    model_types: tuple     # auto-mapping keys, e.g. ("bert",); else the config's model_type
    status: str = SUPPORTED
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


@functools.lru_cache(maxsize=1)
def _exported():
    """Every exported ``TF*`` name of transformers (no import of the modules behind them)."""
    import transformers

    return frozenset(n for n in dir(transformers) if n.startswith("TF"))


def _candidates():
    """Exported ``TF*`` names defined in a ``modeling_tf_*`` module."""
    import transformers

    modules = getattr(transformers, "_class_to_module", {})
    return sorted(n for n in _exported() if "modeling_tf_" in modules.get(n, "modeling_tf_"))


def is_model_class(name):
    """Whether ``transformers.<name>`` is a TF model class (imports that one class's module only)."""
    import inspect

    import transformers

    if name not in _exported():
        return False
    try:
        obj = getattr(transformers, name)
    except Exception:  # noqa: BLE001 - an export that does not import is not a usable class
        return False
    return inspect.isclass(obj) and issubclass(obj, transformers.TFPreTrainedModel) \
        and obj is not transformers.TFPreTrainedModel


@functools.lru_cache(maxsize=1)
def _class_names():
    return tuple(n for n in _candidates() if is_model_class(n))


def class_names():
    """Every exported TF model class name (``TFPreTrainedModel`` subclasses), sorted."""
    return list(_class_names())


def model_class(name):
    import transformers

    return getattr(transformers, name)


def list_classes():
    """``[ModelEntry]`` for every exported TF model class, sorted by name."""
    return [entry(name) for name in _class_names()]


@functools.cache
def entry(name):
    """The entry of one class (imports only that class's module)."""
    if not is_model_class(name):
        raise KeyError(f"{name!r} is not a TF model class exported by transformers")
    kinds, types = _mappings().get(name, ((), ()))
    if not types:
        types = (getattr(getattr(model_class(name), "config_class", None), "model_type", "") or "",)
    return ModelEntry(name, kinds, types)


# -- tiny configs ------------------------------------------------------------------------------
def _values(cfg_cls, base, vocab_size):
    """Keyword values that shrink a config of class ``cfg_cls`` (default instance ``base``)."""
    mtype = getattr(cfg_cls, "model_type", "")
    values = {k: v for k, v in GENERIC.items() if hasattr(base, k)}
    values.update(EXTRA.get(mtype, {}))
    values = {k: v for k, v in values.items() if v is not None}  # None in EXTRA: leave the default
    if mtype == "transfo-xl" and vocab_size is not None:  # adaptive embedding: one cut inside the vocabulary
        values["cutoffs"] = [int(vocab_size) // 2] if vocab_size >= 4 else []
    if hasattr(base, "vocab_size") and vocab_size is not None:
        values["vocab_size"] = int(vocab_size)
        for key in SPECIAL_TOKENS:
            value = values.get(key, getattr(base, key, None))
            if isinstance(value, int) and value >= vocab_size:
                values[key] = vocab_size - 1
    return values


def shrink(cfg_cls, vocab_size=None, tie=None, **overrides):
    """A tiny ``cfg_cls`` config; sub-configs (text/vision/perceiver) are shrunk too and the
    vocabulary size goes to every (sub-)config that has one."""
    base = cfg_cls()
    values = _values(cfg_cls, base, vocab_size)
    for sub in SUB_CONFIGS:
        sub_cfg = getattr(base, sub, None)
        if sub_cfg is not None and hasattr(sub_cfg, "to_dict"):
            sub_values = _values(type(sub_cfg), sub_cfg, vocab_size)
            if tie is not None and sub == "text_config":
                sub_values["tie_word_embeddings"] = bool(tie)
            values[sub] = {**sub_cfg.to_dict(), **sub_values}
    if tie is not None:
        values["tie_word_embeddings"] = bool(tie)
    values.update(overrides)
    return cfg_cls(**values)


def _tiny_decoder(cfg_cls, vocab_size, tie):
    return shrink(cfg_cls, vocab_size, tie, is_decoder=True, add_cross_attention=True)


def _composite_config(model_type, vocab_size, tie):
    """Configs that wrap two models, built from tiny sub-configs (None if not composite)."""
    import transformers as t

    if model_type == "encoder-decoder":
        return t.EncoderDecoderConfig.from_encoder_decoder_configs(
            shrink(t.BertConfig, vocab_size), _tiny_decoder(t.BertConfig, vocab_size, tie))
    if model_type == "vision-encoder-decoder":
        return t.VisionEncoderDecoderConfig.from_encoder_decoder_configs(
            shrink(t.ViTConfig), _tiny_decoder(t.BertConfig, vocab_size, tie))
    if model_type == "vision-text-dual-encoder":
        return t.VisionTextDualEncoderConfig.from_vision_text_configs(
            shrink(t.ViTConfig), shrink(t.BertConfig, vocab_size), projection_dim=16)
    if model_type == "rag":
        generator = shrink(t.BartConfig, vocab_size, tie)
        return t.RagConfig.from_question_encoder_generator_configs(
            shrink(t.DPRConfig, vocab_size), generator, n_docs=1, max_combined_length=64,
            vocab_size=int(vocab_size), **{k: getattr(generator, k) for k in (
                "bos_token_id", "pad_token_id", "eos_token_id", "decoder_start_token_id")})
    return None


def tiny_config(name, vocab_size=DEFAULT_VOCAB, tie=None):
    """A small config for ``name`` with ``vocab_size``; ``tie`` sets tie_word_embeddings if given."""
    cfg_cls = model_class(name).config_class
    mtype = getattr(cfg_cls, "model_type", "")
    return _composite_config(mtype, vocab_size, tie) or shrink(cfg_cls, vocab_size, tie)


def default_config(name):
    """The class's default config, or None when it needs arguments (composites)."""
    try:
        return model_class(name).config_class()
    except Exception:  # noqa: BLE001 - e.g. EncoderDecoderConfig needs its sub-configs
        return None


def config_tree(config):
    """``config`` and every nested sub-config (text/vision/perceiver, encoder/decoder, RAG's)."""
    out, stack = [], [config]
    while stack:
        cfg = stack.pop()
        if cfg is None or any(cfg is c for c in out):
            continue
        out.append(cfg)
        for key, value in vars(cfg).items():
            if hasattr(value, "to_dict") and hasattr(value, "model_type") and not key.startswith("_"):
                stack.append(value)
    return out


def config_vocab_size(config):
    """The vocabulary size that builds the token embedding: the config's own ``vocab_size`` when
    its sub-configs have none, else the text/decoder/generator sub-config's (where the embedding
    is sized; a top-level copy set by a resize does not size anything on a rebuild)."""
    for key in ("text_config", "decoder", "generator"):
        sub = getattr(config, key, None)
        if sub is not None and hasattr(sub, "vocab_size"):
            return sub.vocab_size
    return config.vocab_size
