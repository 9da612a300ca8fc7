"""Mutants for the golden checks: each is the reference adapter with one defect that only a
comparison with stored truth (golden files) reveals, or that the golden check must also catch."""

import tensorflow as tf
from mutants import Mutant, collect

from harness.adapters.reference import ReferenceAdapter
from reference import resize_matrix


class GoldenMatrixOtherSeed(Mutant, ReferenceAdapter):
    kills = {"golden.matrix_resize": "resized matrix new rows"}
    description = "resize_matrix draws new rows with seed 1 while declaring the reference RNG (seed 0)"

    def resize_matrix(self, matrix, n):
        return resize_matrix(matrix, n, seed=1)


class GoldenBiasThroughBfloat16(Mutant, ReferenceAdapter):
    kills = {"golden.bias_resize": "vs golden (kept values, zeros for new entries)"}
    description = "the bias dict is resized through bfloat16 (kept values rounded)"

    def resize(self, model, new_num_tokens):
        out = super().resize(model, new_num_tokens)
        for var in (model.get_bias() or {}).values():
            var.assign(tf.cast(tf.cast(var, tf.bfloat16), var.dtype))
        return out


class GoldenModelSharedSeed(Mutant, ReferenceAdapter):
    kills = {"golden.model_resize": "output matrix new rows"}
    description = "an untied head's new rows are drawn with the input's seed (both get the same new rows)"

    def resize_seeded(self, model, new_num_tokens, seed):
        old = int(tf.shape(model.get_input_embeddings())[0])
        out = super().resize_seeded(model, new_num_tokens, seed)
        decoder = model.get_output_embeddings()
        if decoder is not model.get_input_embeddings() and new_num_tokens > old:
            decoder.assign(tf.concat([decoder[:old], model.get_input_embeddings()[old:]], 0))
        return out


ALL = collect(globals())
