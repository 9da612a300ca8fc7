"""ToyLM: embedding -> mean -> untied LM head with a [V] bias. Its own resize, written by hand."""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np
import tensorflow as tf


def _resizable(value, name):
    """A variable whose shape may change: resize assigns new values in place, so functions
    traced before a resize read the resized weights (not stale copies)."""
    return tf.Variable(value, name=name, shape=tf.TensorShape(None))


class ToyLM(tf.Module):
    def __init__(self, vocab_size, width=8, seed=0):
        super().__init__(name="toy_lm")
        rng = np.random.default_rng(seed)
        self.vocab_size = vocab_size
        self.embeddings = _resizable(rng.normal(0, 0.02, (vocab_size, width)).astype("f4"), "embeddings")
        self.decoder = _resizable(rng.normal(0, 0.02, (vocab_size, width)).astype("f4"), "decoder")
        self.bias = _resizable(rng.normal(0, 0.02, (vocab_size,)).astype("f4"), "bias")
        self.seed = seed

    def __call__(self, ids):
        rows = tf.shape(self.embeddings, out_type=ids.dtype)[0]
        with tf.control_dependencies([tf.debugging.assert_non_negative(ids), tf.debugging.assert_less(ids, rows)]):
            hidden = tf.reduce_mean(tf.gather(self.embeddings, ids), axis=1, keepdims=True)
        return tf.matmul(tf.broadcast_to(hidden, [tf.shape(ids)[0], tf.shape(ids)[1], tf.shape(hidden)[-1]]),
                         self.decoder, transpose_b=True) + self.bias

    def resize_token_embeddings(self, new_num_tokens):
        if new_num_tokens is None:
            return self.embeddings
        if isinstance(new_num_tokens, bool) or not isinstance(new_num_tokens, (int, np.integer)) \
                or not 0 < new_num_tokens < 2**31:
            raise ValueError(f"new_num_tokens must be a positive int32, got {new_num_tokens!r}")
        n = int(new_num_tokens)
        if n == self.vocab_size:
            return self.embeddings
        rng = np.random.default_rng(self.seed + n)
        keep = min(n, self.vocab_size)

        def grow(var, init):
            old = var.numpy()
            extra = init((n - keep,) + old.shape[1:]).astype(old.dtype)
            return np.concatenate([old[:keep], extra])

        embeddings = grow(self.embeddings, lambda s: np.clip(rng.normal(0, 0.02, s), -0.04, 0.04))
        decoder = grow(self.decoder, lambda s: np.clip(rng.normal(0, 0.02, s), -0.04, 0.04))
        bias = self._resize_bias(n, keep)
        for var, value in ((self.embeddings, embeddings), (self.decoder, decoder), (self.bias, bias)):
            var.assign(value)  # in place: everything was computed first
        self.vocab_size = n
        return self.embeddings

    def _resize_bias(self, n, keep):
        old = self.bias.numpy()
        return np.concatenate([old[:keep], np.zeros(n - keep, old.dtype)])


class BuggyToyLM(ToyLM):
    """The same model with a classic bug: new bias entries copied from the last old entry."""

    def _resize_bias(self, n, keep):
        old = self.bias.numpy()
        return np.concatenate([old[:keep], np.full(n - keep, old[-1], old.dtype)])
