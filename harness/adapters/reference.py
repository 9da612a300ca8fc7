"""The built-in adapter for the reference causal LM (``reference/``)."""

import tensorflow as tf

from harness import held
from harness.adapter import BIAS_LAYOUTS, DTYPES, TIE_MODES, Adapter, Capabilities, named_values
from reference import remap_matrix, remap_token_embeddings, resize_matrix, resize_model_width, resize_width
from reference.causal_lm import ReferenceCausalLM, ReferenceConfig
from reference.errors import NonFiniteError
from reference.inplace import current_shape


class ReferenceAdapter(Adapter):
    name = "reference"
    nonfinite_errors = (NonFiniteError,)  # resize_matrix on NaN/Inf in a kept row (reference/matrix.py)

    def capabilities(self):
        return Capabilities(
            tie_modes=frozenset(TIE_MODES),
            bias_layouts=frozenset(BIAS_LAYOUTS),
            dtypes=frozenset(DTYPES),
            flags=frozenset({
                "output_embeddings", "shrink", "save_load", "train", "graph_forward",
                "matrix_resize", "assign_weights", "min_vocab_size",
                "rejects_out_of_range_ids", "cached_vocab_sizes", "pad_to_multiple_of", "mean_resizing",
                "vocab_remap", "width_resize", "load_matrix", "reference_rng", "keras_logits",
            }),
        )

    def build(self, spec):
        config = ReferenceConfig(
            vocab_size=spec.vocab_size, hidden_size=spec.width,
            tie_word_embeddings=spec.tie == "tied", bias_layout=spec.bias,
            min_vocab_size=spec.min_vocab_size, dtype=spec.dtype, seed=spec.seed,
        )
        return ReferenceCausalLM(config)

    def resize(self, model, new_num_tokens):
        return model.resize_token_embeddings(new_num_tokens)

    def call(self, model, ids):
        return model(ids)

    def handles(self, model):
        h = {"input": model.embed.embeddings}
        if model.head.tied:
            h["output"] = model.embed.embeddings
        elif model.head.decoder is not None:
            h["output"] = model.head.decoder
        for name in model.head.bias_names:
            h["bias:" + name] = getattr(model.head, name)
        return h

    def read_config_vocab_size(self, model):
        return model.config.vocab_size

    def initializer_range(self, model):
        return model.config.initializer_range

    def read_cached_vocab_sizes(self, model):
        return model.cached_vocab_sizes()

    def variable_shapes(self, model):
        """The current shapes (vocabulary-sized variables have an unknown static shape)."""
        return [(v.name, current_shape(v)) for v in model.variables]

    def variable_values(self, model):
        return named_values(model.variables)

    def read_config(self, model):
        return model.config.to_dict()

    def save(self, model, path):
        model.save_pretrained(path)

    def load(self, path):
        return ReferenceCausalLM.from_pretrained(path)

    def train_step(self, model, ids):
        return model.train_step_sgd(tf.convert_to_tensor(ids, tf.int32))

    def resize_matrix(self, matrix, new_num_tokens):
        return resize_matrix(matrix, new_num_tokens, seed=0)

    def assign(self, model, which, values):
        self.handles(model)[which].assign(tf.cast(values, self.handles(model)[which].dtype))

    def load_weights(self, model, weights):
        for which, values in weights.items():
            self.assign(model, which, values)

    def resize_seeded(self, model, new_num_tokens, seed):
        return model.resize_token_embeddings(new_num_tokens, seed=seed)

    # -- more resize operations -------------------------------------------------
    def resize_padded(self, model, new_num_tokens, pad_to_multiple_of):
        return model.resize_token_embeddings(new_num_tokens, pad_to_multiple_of=pad_to_multiple_of)

    def resize_mean(self, model, new_num_tokens, seed):
        return model.resize_token_embeddings(new_num_tokens, mean_resizing=True, seed=seed)

    def remap(self, model, old_vocab, new_vocab, initializer=None):
        return remap_token_embeddings(model, old_vocab, new_vocab, initializer=initializer, seed=0)

    def remap_matrix(self, old_vocab, new_vocab, matrix, initializer=None):
        return remap_matrix(old_vocab, new_vocab, matrix, initializer=initializer, seed=0)

    def resize_width(self, model, new_width, projection=None):
        return resize_model_width(model, new_width, projection=projection)

    def resize_width_matrix(self, matrix, new_width, projection=None):
        return resize_width(matrix, new_width, projection=projection)

    def read_config_width(self, model):
        return model.config.hidden_size

    def load_report(self, path, fmt="default"):
        """The reference's load is strict (``assert_consumed``; a shape mismatch raises): a load that
        returns has no missing, unexpected or mismatched variable."""
        return self.load(path), {"missing": [], "unexpected": [], "mismatched": []}

    def held_runners(self, model):
        """``tf.function`` / XLA (base) and the Keras ways: the model is a tf-keras Model of ids."""
        return {**super().held_runners(model), **held.keras_runners(model)}
