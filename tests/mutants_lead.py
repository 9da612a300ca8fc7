"""Mutants for observable preconditions, new-row scale and atomic failure.

Each is a small named class, declared as in tests/mutants.py: ``kills`` maps each check that
must report it as failed to a substring of the failure message.
"""

import numpy as np
import tensorflow as tf
from mutants import Mutant, collect

from harness.adapters.reference import ReferenceAdapter
from reference import resize_matrix


class _ConfigScale(Mutant, ReferenceAdapter):
    """Built at the config's initializer_range, then the config (and what the adapter reports)
    claims another one: the resize draws new rows at that other scale."""

    claimed_range = 0.2

    def build(self, spec):
        model = super().build(spec)
        model.config.initializer_range = self.claimed_range
        return model

    def initializer_range(self, model):
        return self.claimed_range

    def resize(self, model, new_num_tokens):  # seeded: the same new rows in every run and test order
        return model.resize_token_embeddings(new_num_tokens, seed=1234)


class NewRowsTenTimesTheBuildScale(_ConfigScale):
    """New rows at 10x the scale the model was built with (the resize agrees with its own config)."""

    kills = {"grow.new_rows_initialised": "fresh build"}
    description = "new rows at 10x the built scale; the config value the resize reads says 0.2"
    claimed_range = 0.2


class NewRowsTenthOfTheBuildScale(_ConfigScale):
    """New rows at 0.1x the scale the model was built with (a failure in the other direction)."""

    kills = {"grow.new_rows_initialised": "fresh build"}
    description = "new rows at 0.1x the built scale"
    claimed_range = 0.002


class ZeroBuiltBiasWipedByResize(Mutant, ReferenceAdapter):
    """Biases start at zero (like every transformers LM head) and the resize zeroes the kept
    values: only observable once the check conditions the bias to non-zero values."""

    kills = {"bias.prefix_kept_new_zero": "kept entries"}
    description = "zero-built bias; the resize wipes the kept bias values"

    def build(self, spec):
        model = super().build(spec)
        for var in (model.get_bias() or {}).values():
            var.assign(tf.zeros_like(var))
        return model

    def resize(self, model, new_num_tokens):
        out = model.resize_token_embeddings(new_num_tokens)
        for var in (model.get_bias() or {}).values():
            var.assign(tf.zeros_like(var))
        return out


class HalfAppliedOnFailure(Mutant, ReferenceAdapter):
    """Sets the input embeddings (and the config) first, then fails on the rest, as
    transformers' ESM set_input_embeddings does; bad sizes are validated after the config is set."""

    kills = {"atomic.failed_resize_leaves_model_unchanged": "after resize("}
    description = "input embeddings and config set before a later step raises"

    def resize(self, model, new_num_tokens):
        model.config.vocab_size = new_num_tokens  # set before validation
        n = int(new_num_tokens) if isinstance(new_num_tokens, (int, np.integer)) and \
            not isinstance(new_num_tokens, bool) and 0 < new_num_tokens < 2**31 else None
        if n is None:
            raise ValueError(f"invalid size {new_num_tokens!r}")
        old = model.get_input_embeddings()
        model.set_input_embeddings(tf.Variable(resize_matrix(old, n, seed=0), name="embed/embeddings"))
        raise RuntimeError("the output embeddings could not be resized")


ALL = collect(globals())
