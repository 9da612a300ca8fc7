"""Adapter for a tiny Keras 3 LM built on ``keras.layers.ReversibleEmbedding``.

Keras 3 (``import keras``, TensorFlow backend) runs beside tf-keras in the same
process: ``TF_USE_LEGACY_KERAS=1`` only redirects ``tf.keras``. The model is
ids -> ReversibleEmbedding -> causal running mean -> Dense(tanh) ->
ReversibleEmbedding(reverse=True), tied (``tie_weights=True``: the reverse
projection is ``embeddings^T``) or untied (``reverse_embeddings [H, V]``, which
is read back and written transposed, as ``[V, H]``). No LM-head bias. Resizes go
through ``reference.reversible``.
"""

import dataclasses
import json
import os

import numpy as np
import tensorflow as tf

from harness.adapter import DTYPES, TIE_MODES, Adapter, Capabilities
from reference import resize_matrix
from reference.remap import remap_matrix
from reference.reversible import remap_reversible_embedding, resize_reversible_embedding
from reference.validate import validate_num_tokens


def _keras():
    import keras

    if not keras.__version__.startswith("3.") or not hasattr(keras.layers, "ReversibleEmbedding"):
        raise ImportError(f"keras {keras.__version__} has no keras.layers.ReversibleEmbedding (needs Keras 3)")
    return keras


@dataclasses.dataclass
class ReversibleConfig:
    vocab_size: int
    hidden_size: int = 8
    tie_word_embeddings: bool = True
    dtype: str = "float32"
    seed: int = 0
    min_vocab_size: int = 1
    initializer_range: float = 0.02


def build_model(config):
    """The Keras 3 LM for ``config`` (a ``ReversibleConfig``), built."""
    keras = _keras()

    class ReversibleLM(keras.Model):
        def __init__(self, cfg):
            super().__init__(name="reversible_lm", dtype=cfg.dtype)
            self.cfg = cfg
            init = keras.initializers.TruncatedNormal(stddev=cfg.initializer_range, seed=cfg.seed)
            self.embedding = keras.layers.ReversibleEmbedding(
                cfg.vocab_size, cfg.hidden_size, tie_weights=cfg.tie_word_embeddings,
                embeddings_initializer=init, dtype=cfg.dtype, name="embedding")
            self.body = keras.layers.Dense(
                cfg.hidden_size, activation="tanh", dtype=cfg.dtype, name="body",
                kernel_initializer=keras.initializers.RandomUniform(-0.6, 0.6, seed=cfg.seed + 10),
                bias_initializer=keras.initializers.RandomNormal(stddev=0.1, seed=cfg.seed + 11))

        def call(self, ids):
            rows = tf.shape(self.embedding.embeddings, out_type=ids.dtype)[0]
            checks = [tf.debugging.assert_non_negative(ids, message="token id < 0"),
                      tf.debugging.assert_less(ids, rows, message="token id >= vocabulary size")]
            with tf.control_dependencies(checks):
                x = self.embedding(tf.identity(ids))
            steps = tf.cast(tf.range(1, tf.shape(x)[1] + 1), x.dtype)[tf.newaxis, :, tf.newaxis]
            return self.embedding(self.body(tf.math.cumsum(x, axis=1) / steps), reverse=True)

        def resize_token_embeddings(self, new_num_tokens=None, **kwargs):
            out = resize_reversible_embedding(self.embedding, new_num_tokens, min_num_tokens=self.cfg.min_vocab_size,
                                              initializer_range=self.cfg.initializer_range, **kwargs)
            self.cfg.vocab_size = int(self.embedding.input_dim)
            return out

        def remap_vocabulary(self, old_vocab, new_vocab, **kwargs):
            out = remap_reversible_embedding(self.embedding, old_vocab, new_vocab,
                                             min_num_tokens=self.cfg.min_vocab_size,
                                             initializer_range=self.cfg.initializer_range, **kwargs)
            self.cfg.vocab_size = int(self.embedding.input_dim)
            return out

    model = ReversibleLM(config)
    model.embedding.build()
    model.body.build((None, config.hidden_size))
    model(tf.zeros([1, 1], tf.int32))
    return model


class Keras3ReversibleAdapter(Adapter):
    name = "keras3_reversible"

    def capabilities(self):
        _keras()
        return Capabilities(
            tie_modes=frozenset(TIE_MODES), bias_layouts=frozenset({"none"}), dtypes=frozenset(DTYPES),
            flags=frozenset({"output_embeddings", "shrink", "save_load", "train", "graph_forward",
                             "matrix_resize", "assign_weights", "min_vocab_size", "rejects_out_of_range_ids",
                             "cached_vocab_sizes", "pad_to_multiple_of", "mean_resizing", "vocab_remap"}))

    def build(self, spec):
        validate_num_tokens(spec.vocab_size, name="vocab_size", minimum=spec.min_vocab_size)
        return build_model(ReversibleConfig(
            vocab_size=spec.vocab_size, hidden_size=spec.width, tie_word_embeddings=spec.tie == "tied",
            dtype=spec.dtype, seed=spec.seed % (2**31 - 16), min_vocab_size=spec.min_vocab_size))

    def resize(self, model, new_num_tokens):
        return model.resize_token_embeddings(new_num_tokens)

    def call(self, model, ids):
        return model(ids)

    def handles(self, model):
        layer = model.embedding
        h = {"input": layer._embeddings}
        h["output"] = layer._embeddings if layer.tie_weights else layer.reverse_embeddings
        return h

    def read_output_matrix(self, model):
        layer = model.embedding
        return layer._embeddings.numpy() if layer.tie_weights else layer.reverse_embeddings.numpy().T

    def read_config_vocab_size(self, model):
        return model.cfg.vocab_size

    def read_cached_vocab_sizes(self, model):
        return {"embedding.input_dim": int(model.embedding.input_dim)}

    def initializer_range(self, model):
        return model.cfg.initializer_range

    def variable_shapes(self, model):
        return [(v.path, tuple(int(d) for d in v.shape)) for v in model.variables]

    def save(self, model, path):
        with open(os.path.join(path, "config.json"), "w", encoding="utf-8") as f:
            json.dump(dataclasses.asdict(model.cfg), f)
        model.save_weights(os.path.join(path, "model.weights.h5"))

    def load(self, path):
        with open(os.path.join(path, "config.json"), encoding="utf-8") as f:
            model = build_model(ReversibleConfig(**json.load(f)))
        model.load_weights(os.path.join(path, "model.weights.h5"))
        return model

    def train_step(self, model, ids, learning_rate=0.5):
        ids = tf.convert_to_tensor(ids, tf.int32)
        variables = model.trainable_variables
        with tf.GradientTape() as tape:
            logits = tf.cast(model(ids[:, :-1]), tf.float32)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(ids[:, 1:], logits))
        for var, grad in zip(variables, tape.gradient(loss, variables)):
            if grad is not None:
                var.assign_sub(tf.cast(learning_rate * tf.convert_to_tensor(grad), var.dtype))
        return float(loss)

    def resize_matrix(self, matrix, new_num_tokens):
        return resize_matrix(matrix, new_num_tokens, seed=0)

    def assign(self, model, which, values):
        target = self.handles(model)[which]
        values = np.asarray(values)
        if which == "output" and not model.embedding.tie_weights:
            values = values.T
        target.assign(tf.cast(values, target.dtype))

    def resize_padded(self, model, new_num_tokens, pad_to_multiple_of):
        return model.resize_token_embeddings(new_num_tokens, pad_to_multiple_of=pad_to_multiple_of)

    def resize_mean(self, model, new_num_tokens, seed):
        return model.resize_token_embeddings(new_num_tokens, mean_resizing=True, seed=seed)

    def remap(self, model, old_vocab, new_vocab, initializer=None):
        return model.remap_vocabulary(old_vocab, new_vocab, initializer=initializer, seed=0)

    def remap_matrix(self, old_vocab, new_vocab, matrix, initializer=None):
        return remap_matrix(old_vocab, new_vocab, matrix, initializer=initializer, seed=0)
