"""Mutants for state held across a resize (suites/held.py).

Each is the reference adapter with one defect, declared as in tests/mutants.py: ``kills`` maps
each check that must report it as failed to a substring of the failure message.
"""

from mutants import Mutant, collect

from harness.adapters.reference import ReferenceAdapter
from reference import resize_bias_dict, resize_matrix
from reference.causal_lm import ReferenceCausalLM, ReferenceConfig
from reference.matrix import variable_like


def replacing_resize(model, n):
    """The reference resize before it wrote in place: every resized weight is a new variable
    set through the model's setters (what transformers' ``_get_resized_embeddings`` does)."""
    old_in, old_out, bias = model.get_input_embeddings(), model.get_output_embeddings(), model.get_bias()
    if n is None or n == model.config.vocab_size:
        return old_in
    tied = old_out is old_in
    new_in = variable_like(old_in, resize_matrix(old_in, n, seed=0))
    new_out = None if tied or old_out is None else variable_like(old_out, resize_matrix(old_out, n, seed=1))
    new_bias = resize_bias_dict(bias, n)
    model.set_input_embeddings(new_in)
    if tied:
        model.set_output_embeddings(new_in)
    elif new_out is not None:
        model.set_output_embeddings(new_out)
    if new_bias is not None:
        model.set_bias(new_bias)
    model.config.vocab_size = n
    model.set_cached_vocab_size(n)
    return model.get_input_embeddings()


class HeldReplacesVariables(Mutant, ReferenceAdapter):
    """The old reference resize: new variables, so everything traced before reads the old ones."""

    kills = {"held.tf_function": "stale: the held tf_function", "held.xla_function": "stale: the held xla_function",
             "held.keras_predict": "stale: the held keras_predict",
             "held.keras_test_on_batch": "stale: the held keras_test_on_batch",
             "held.keras_train_on_batch": "stale: the held keras_train_on_batch"}
    description = "resize replaces the variables (functions traced before it keep the old ones)"

    def resize(self, model, new_num_tokens):
        return replacing_resize(model, new_num_tokens)


class HeldResetsOnlyKerasCaches(Mutant, ReferenceAdapter):
    """Replaces the variables, then drops Keras' cached predict/train/test functions (so Keras
    retraces): a user's own tf.function (plain or XLA) stays stale."""

    kills = {"held.tf_function": "stale: the held tf_function", "held.xla_function": "stale: the held xla_function"}
    description = "resize replaces the variables and resets only Keras' cached functions"

    def resize(self, model, new_num_tokens):
        out = replacing_resize(model, new_num_tokens)
        model.predict_function = model.train_function = model.test_function = None
        return out


class HeldStaleLossHidden(Mutant, ReferenceAdapter):
    """A grow that replaces the variables (held functions keep the old ones) and gives the new ids a
    bias of -1e9: the resized model's loss on kept ids equals the loss before the resize, so a stale
    held test_on_batch agrees with the eager forward until the kept rows change. A shrink is correct."""

    kills = {"held.keras_test_on_batch": "stale: the held keras_test_on_batch"}
    description = "resize replaces the variables and hides the new ids behind a -1e9 bias"

    def resize(self, model, new_num_tokens):
        old = model.config.vocab_size
        if new_num_tokens is None or new_num_tokens <= old:
            return super().resize(model, new_num_tokens)
        out = replacing_resize(model, new_num_tokens)
        for var in (model.get_bias() or {}).values():
            values = var.numpy()
            values[..., old:] = -1e9
            var.assign(values)
        return out


class _BakedVocabLM(ReferenceCausalLM):
    """Slices the logits to the cached vocab size: a Python int, frozen into a trace."""

    def call(self, ids):
        return super().call(ids)[..., : self.head.vocab_size]


class HeldBakesVocabSize(Mutant, ReferenceAdapter):
    """In-place variables, but the forward reads the vocab size as a Python int at trace time:
    after a grow every held function still returns the old vocabulary's logits, and a held train
    step leaves an untied head's new rows untrained."""

    kills = {"held.tf_function": "stale: the held tf_function", "held.xla_function": "stale: the held xla_function",
             "held.keras_predict": "stale: the held keras_predict",
             "held.keras_test_on_batch": "stale: the held keras_test_on_batch",
             "held.keras_train_on_batch": "stale: exactly the new rows"}
    description = "the forward slices logits to the vocab size cached when it was traced"

    def build(self, spec):
        return _BakedVocabLM(ReferenceConfig(
            vocab_size=spec.vocab_size, hidden_size=spec.width, tie_word_embeddings=spec.tie == "tied",
            bias_layout=spec.bias, min_vocab_size=spec.min_vocab_size, dtype=spec.dtype, seed=spec.seed))


ALL = collect(globals())
