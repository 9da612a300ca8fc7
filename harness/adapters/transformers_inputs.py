"""Inputs a transformers TF model needs beside its token ids, tiny and built from its config only.

``make_inputs(model, ids)`` returns the keyword inputs for int ids ``[B, T]`` (symbolic shapes
work, so traced forwards can use it): the ids themselves (``[B, 1, T]`` for multiple choice), the
same ids as decoder ids for models with a decoder, and whatever else the class's ``call`` needs:
pixel values (CLIP/BLIP/GroupViT/Idefics/dual encoders/vision encoder-decoders), audio features
(Speech2Text, Whisper), visual features and positions (LXMERT), zero boxes (LayoutLM*), table
token types (TAPAS), retrieved contexts with document scores (RAG, which has no retriever here),
and ``<eos>`` ids that give every row the same count (BART-style sequence classifiers). The
extra inputs are deterministic (stateless random with a fixed seed) so a forward is repeatable.

``find_outputs(out, ...)`` walks a (nested) model output for vocabulary logits and hidden states.
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import inspect

import tensorflow as tf

NOISE_SEED = (1234, 0)
VISUAL_BOXES = 3     # LXMERT regions per example
AUDIO_FRAMES = 16    # Speech2Text feature frames per example
AUDIO_SAMPLES = 400  # raw audio samples per example (wav2vec2-style feature encoders)
TOKEN_ID_PARAMS = ("input_ids", "decoder_input_ids", "context_input_ids")


def call_params(cls):
    return set(inspect.signature(cls.call).parameters)


def _noise(shape, salt=0):
    return tf.random.stateless_uniform(shape, seed=(NOISE_SEED[0] + salt, NOISE_SEED[1]), minval=-1.0, maxval=1.0)


def _vision_config(config):
    if getattr(config, "vision_config", None) is not None:
        return config.vision_config
    encoder = getattr(config, "encoder", None)
    if encoder is not None and hasattr(encoder, "image_size"):
        return encoder
    return config


def _image(config, batch, salt=0):
    vc = _vision_config(config)
    size = vc.image_size if isinstance(vc.image_size, int) else vc.image_size[0]
    return _noise(tf.stack([batch, getattr(vc, "num_channels", 3), size, size]), salt)


def needs_pixels(model):
    """The model's forward takes pixel values it cannot do without (not LayoutLMv3's optional ones)."""
    cfg = model.config
    return "pixel_values" in call_params(type(model)) and (
        getattr(model, "main_input_name", "") == "pixel_values" or getattr(cfg, "vision_config", None) is not None)


def _equal_eos_counts(ids, eos):
    """``ids`` with ``<eos>`` ids appended so every row holds the same number of them (at least one),
    padded with id 1 where a row needs fewer: the forward of BART-style sequence classifiers
    (modeling_tf_bart.py TFBartForSequenceClassification.call) rejects any other batch."""
    counts = tf.reduce_sum(tf.cast(tf.equal(ids, eos), tf.int32), axis=1)
    extra = tf.reduce_max(counts) + 1 - counts                   # eos ids to add per row (>= 1)
    width = tf.reduce_max(extra)
    position = tf.range(width)[None, :]
    tail = tf.where(position < extra[:, None], tf.cast(eos, ids.dtype), tf.ones_like(position, ids.dtype))
    # the eos ids go last so the classifier's "last <eos>" is the final position
    tail = tf.reverse(tail, axis=[1])
    return tf.concat([ids, tail], axis=1)


def make_inputs(model, ids):
    """Keyword inputs for ``model`` given int ids ``[B, T]`` (works on symbolic shapes)."""
    ids = tf.cast(tf.convert_to_tensor(ids), tf.int32)
    cls = type(model)
    name, cfg, params = cls.__name__, model.config, call_params(cls)
    batch = tf.shape(ids)[0]
    mtype = getattr(cfg, "model_type", "")
    inputs = {}
    if name.endswith("ForSequenceClassification") and mtype in EOS_CLASSIFIERS:
        inputs["input_ids"] = _equal_eos_counts(ids, cfg.eos_token_id)  # decoder ids: shifted from these
        return inputs
    if "input_ids" in params:
        inputs["input_ids"] = ids[:, None, :] if name.endswith("ForMultipleChoice") else ids
    if "decoder_input_ids" in params:
        inputs["decoder_input_ids"] = ids
    if "bbox" in params:
        inputs["bbox"] = tf.zeros(tf.concat([tf.shape(inputs["input_ids"]), [4]], 0), tf.int32)
    if mtype == "tapas":
        inputs["token_type_ids"] = tf.zeros(tf.concat([tf.shape(ids), [7]], 0), tf.int32)
    if needs_pixels(model):
        if mtype == "idefics":
            image = _image(cfg, batch)
            inputs["pixel_values"] = image[:, None]
            inputs["image_attention_mask"] = tf.ones(tf.stack([batch, tf.shape(ids)[1], 1]), tf.int32)
        else:
            inputs["pixel_values"] = _image(cfg, batch)
    if "visual_feats" in params:
        inputs["visual_feats"] = _noise(tf.stack([batch, VISUAL_BOXES, cfg.visual_feat_dim]), 1)
        inputs["visual_pos"] = (_noise(tf.stack([batch, VISUAL_BOXES, cfg.visual_pos_dim]), 2) + 1.0) / 2.0
    if "input_features" in params:
        if mtype == "whisper":
            shape = tf.stack([batch, cfg.num_mel_bins, 2 * cfg.max_source_positions])
        else:
            shape = tf.stack([batch, AUDIO_FRAMES, cfg.input_feat_per_channel * cfg.input_channels])
        inputs["input_features"] = _noise(shape, 3)
    if "input_values" in params:  # raw audio (wav2vec2 / hubert CTC heads)
        inputs["input_values"] = _noise(tf.stack([batch, AUDIO_SAMPLES]), 4)
    if mtype == "rag":  # no retriever: the retrieved contexts (the ids themselves) and their scores
        inputs["context_input_ids"] = ids
        inputs["context_attention_mask"] = tf.ones_like(ids)
        inputs["doc_scores"] = tf.zeros(tf.stack([batch, cfg.n_docs]), tf.float32)
    return inputs


EOS_CLASSIFIERS = ("bart", "mbart")


def takes_token_ids(cls):
    """Whether any input of the class's forward is a token id tensor."""
    return bool(call_params(cls) & set(TOKEN_ID_PARAMS))


# -- outputs ---------------------------------------------------------------------------------------
def _items(out):
    """``(key, value)`` of a model output (a ModelOutput, dict, or plain tuple)."""
    if hasattr(out, "keys"):
        return [(k, out[k]) for k in out.keys()]
    if isinstance(out, (tuple, list)):
        return [(str(i), v) for i, v in enumerate(out)]
    return []


def _is_tensor(value):
    return isinstance(value, (tf.Tensor, tf.Variable)) or hasattr(value, "shape") and hasattr(value, "dtype")


def walk(out, path=()):
    """Every ``(path, value)`` in a nested output; tuples of tensors (hidden states) are values."""
    for key, value in _items(out):
        here = path + (key,)
        if value is None:
            continue
        if _is_tensor(value) or (isinstance(value, (tuple, list)) and value and all(_is_tensor(v) for v in value)):
            yield here, value
        elif hasattr(value, "keys") or isinstance(value, (tuple, list)):
            yield from walk(value, here)


def get_path(out, path):
    """The value at ``path`` (keys of nested outputs)."""
    for key in path:
        out = out[int(key)] if isinstance(out, (tuple, list)) else out[key]
    return out


def float_leaves(out):
    """Every float tensor of a nested output (hidden-state tuples flattened)."""
    leaves = []
    for _, value in walk(out):
        for v in (value if isinstance(value, (tuple, list)) else (value,)):
            if v.dtype.is_floating:
                leaves.append(v)
    return leaves


_HIDDEN_ORDER = ("decoder_hidden_states", "generator_dec_hidden_states", "language_hidden_states",
                 "text_model_output", "hidden_states")


def hidden_candidates(out):
    """``[(path, states)]`` of hidden-state tuples, the decoder's / the text model's first."""
    found = [(p, v) for p, v in walk(out) if isinstance(v, (tuple, list)) and "hidden_states" in p[-1]]

    def rank(item):
        joined = ".".join(item[0])
        return next((i for i, key in enumerate(_HIDDEN_ORDER) if key in joined), len(_HIDDEN_ORDER))

    return sorted(found, key=rank)
