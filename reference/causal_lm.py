"""A small tf-keras causal LM built on the reference resize.

Embedding -> causal running mean -> Dense(tanh) -> LM head (tied to the input
embeddings or its own ``[V, H]`` decoder) + bias dict. Tiny, deterministic under
a seed, graph-safe, trainable, and saved as ``config.json`` + a TF checkpoint.

Bias layouts: ``none`` {}, ``vector`` {"bias": [V]}, ``row``
{"final_logits_bias": [1, V]} (non-trainable, as in BART), ``multi`` both.
Out-of-range token ids raise (eagerly and in graphs, on every device).

The vocabulary-sized variables (embeddings, decoder, bias entries) are created with an
unknown static shape (``reference.inplace.resizable_variable``) so a resize writes them in
place and functions traced before it see the new vocabulary; their ``.shape`` is unknown
(read ``reference.inplace.current_shape``) and Keras ``summary()`` does not work on the model.
"""

import dataclasses
import json
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import tensorflow as tf

try:
    import tf_keras as keras
except ImportError as exc:  # pragma: no cover - environment problem
    raise ImportError(
        "the reference model needs tf-keras matching your TensorFlow minor; install it with "
        "`pip install --no-deps tf-keras==<tf minor>.*` (see README)"
    ) from exc

from reference import model_resize
from reference.inplace import resizable_variable
from reference.validate import validate_num_tokens

BIAS_LAYOUTS = ("none", "vector", "row", "multi")


def _stateless(kind, scale, seed):
    """Deterministic initializer ``(shape, dtype)``: ``normal``, ``truncated`` or ``uniform``."""

    def init(shape, dtype=tf.float32, **_):
        s = [int(seed), 0xC0FFEE]
        if kind == "normal":
            v = tf.random.stateless_normal(shape, s, stddev=scale)
        elif kind == "truncated":
            v = tf.random.stateless_truncated_normal(shape, s, stddev=scale)
        else:
            v = tf.random.stateless_uniform(shape, s, minval=-scale, maxval=scale)
        return tf.cast(v, dtype)

    return init
DTYPES = ("float32", "float16", "bfloat16")


@dataclasses.dataclass
class ReferenceConfig:
    vocab_size: int = 32
    hidden_size: int = 8
    tie_word_embeddings: bool = True
    bias_layout: str = "vector"
    initializer_range: float = 0.02
    min_vocab_size: int = 1
    dtype: str = "float32"
    seed: int = 0

    def __post_init__(self):
        validate_num_tokens(self.vocab_size, name="vocab_size", minimum=self.min_vocab_size)
        validate_num_tokens(self.hidden_size, name="hidden_size")
        if self.bias_layout not in BIAS_LAYOUTS:
            raise ValueError(f"bias_layout must be one of {BIAS_LAYOUTS}, got {self.bias_layout!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, got {self.dtype!r}")

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data):
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown config keys: {sorted(unknown)}")
        return cls(**data)


def bias_spec(layout):
    """(name, rank, trainable) of each bias entry for a layout."""
    entries = {
        "none": [],
        "vector": [("bias", 1, True)],
        "row": [("final_logits_bias", 2, False)],
        "multi": [("bias", 1, True), ("final_logits_bias", 2, False)],
    }
    return entries[layout]


class TokenEmbedding(keras.layers.Layer):
    """``[V, H]`` lookup that rejects ids outside ``[0, V)``."""

    def __init__(self, vocab_size, hidden_size, initializer_range, seed, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.initializer_range = initializer_range
        self.seed = seed

    def build(self, input_shape):
        init = _stateless("truncated", self.initializer_range, self.seed)
        self.embeddings = resizable_variable(init([self.vocab_size, self.hidden_size], self.dtype),
                                             name="embeddings")
        super().build(input_shape)

    def call(self, ids):
        table = tf.ensure_shape(self.embeddings, [None, None])  # rank 2, sizes may change in place
        rows = tf.shape(table, out_type=ids.dtype)[0]
        checks = [
            tf.debugging.assert_non_negative(ids, message="token id < 0"),
            tf.debugging.assert_less(ids, rows, message="token id >= vocabulary size"),
        ]
        with tf.control_dependencies(checks):
            return tf.gather(table, ids)


class LMHead(keras.layers.Layer):
    """Logits = h @ W^T + sum(bias). W is the input embeddings when tied."""

    def __init__(self, vocab_size, hidden_size, tied, bias_layout, initializer_range, seed, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.tied = tied
        self.bias_kind = bias_layout  # not "bias_layout": tf-keras reads <weight>_layout as a DTensor layout
        self.initializer_range = initializer_range
        self.seed = seed
        self.decoder = None

    def build(self, input_shape):
        if not self.tied:
            init = _stateless("truncated", self.initializer_range, self.seed + 1)
            self.decoder = resizable_variable(init([self.vocab_size, self.hidden_size], self.dtype),
                                              name="decoder")
        self.bias_names = []
        for i, (name, rank, trainable) in enumerate(bias_spec(self.bias_kind)):
            shape = [self.vocab_size] if rank == 1 else [1, self.vocab_size]
            # Non-zero at build so "old values kept" is observable. Each entry is its own
            # attribute: replacing it untracks the old variable (a dict would keep it).
            init = _stateless("normal", 0.02, self.seed + 2 + i)
            setattr(self, name, resizable_variable(init(shape, self.dtype), name=name, trainable=trainable))
            self.bias_names.append(name)
        super().build(input_shape)

    def call(self, hidden, input_embeddings):
        weight = input_embeddings if self.tied else self.decoder
        logits = tf.linalg.matmul(hidden, tf.ensure_shape(weight, [None, None]), transpose_b=True)
        for name in self.bias_names:
            logits = logits + getattr(self, name)
        return tf.ensure_shape(logits, hidden.shape[:-1].concatenate([None]))


class ReferenceCausalLM(keras.Model):
    """The built-in reference model; see the module docstring."""

    def __init__(self, config, **kwargs):
        super().__init__(name="reference_lm", dtype=config.dtype, **kwargs)
        self.config = config
        c = config
        self.embed = TokenEmbedding(c.vocab_size, c.hidden_size, c.initializer_range, c.seed,
                                    name="embed", dtype=c.dtype)
        self.body = keras.layers.Dense(
            c.hidden_size, activation="tanh", name="body", dtype=c.dtype,
            kernel_initializer=_stateless("uniform", (3.0 / c.hidden_size) ** 0.5, c.seed + 10),
            bias_initializer=_stateless("normal", 0.1, c.seed + 11),
        )
        self.head = LMHead(c.vocab_size, c.hidden_size, c.tie_word_embeddings, c.bias_layout,
                           c.initializer_range, c.seed + 20, name="lm_head", dtype=c.dtype)
        self(tf.zeros([1, 1], tf.int32))  # build every variable now

    def call(self, ids):
        x = self.embed(ids)
        steps = tf.cast(tf.range(1, tf.shape(x)[1] + 1), x.dtype)[tf.newaxis, :, tf.newaxis]
        hidden = self.body(tf.math.cumsum(x, axis=1) / steps)
        return self.head(hidden, self.embed.embeddings)

    # -- the interface reference.model_resize works on ------------------------
    def get_input_embeddings(self):
        return self.embed.embeddings

    def set_input_embeddings(self, variable):
        self.embed.embeddings = variable

    def get_output_embeddings(self):
        return self.embed.embeddings if self.head.tied else self.head.decoder

    def set_output_embeddings(self, variable):
        if self.head.tied:
            if variable is not self.embed.embeddings:
                raise ValueError("tied head: set the input embeddings instead")
            return
        self.head.decoder = variable

    def get_bias(self):
        names = self.head.bias_names
        return {name: getattr(self.head, name) for name in names} if names else None

    def set_bias(self, bias):
        if sorted(bias) != sorted(self.head.bias_names):
            raise ValueError(f"bias keys {sorted(bias)} != {sorted(self.head.bias_names)}")
        for name, variable in bias.items():
            setattr(self.head, name, variable)

    def set_cached_vocab_size(self, n):
        self.embed.vocab_size = n
        self.head.vocab_size = n

    def cached_vocab_sizes(self):
        return {"embed.vocab_size": self.embed.vocab_size, "lm_head.vocab_size": self.head.vocab_size}

    def resize_token_embeddings(self, new_num_tokens=None, **kwargs):
        return model_resize.resize_token_embeddings(self, new_num_tokens, **kwargs)

    # -- training, saving ------------------------------------------------------
    def train_step_sgd(self, ids, learning_rate=0.5):
        """One SGD step on next-token cross-entropy; returns the loss (float)."""
        ids = tf.convert_to_tensor(ids)
        with tf.GradientTape() as tape:
            logits = tf.cast(self(ids[:, :-1]), tf.float32)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(ids[:, 1:], logits))
        variables = self.trainable_variables
        for var, grad in zip(variables, tape.gradient(loss, variables)):
            if grad is not None:
                var.assign_sub(tf.cast(learning_rate * tf.convert_to_tensor(grad), var.dtype))
        return float(loss)

    def save_pretrained(self, directory):
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "config.json"), "w", encoding="utf-8") as f:
            json.dump(self.config.to_dict(), f, indent=2, sort_keys=True)
        self.save_weights(os.path.join(directory, "weights"))

    @classmethod
    def from_pretrained(cls, directory):
        """Strict load: a missing, unexpected or mismatched variable is an error."""
        with open(os.path.join(directory, "config.json"), encoding="utf-8") as f:
            config = ReferenceConfig.from_dict(json.load(f))
        model = cls(config)
        status = model.load_weights(os.path.join(directory, "weights"))
        status.assert_consumed()
        return model
