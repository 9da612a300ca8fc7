"""Defects injected into transformers' own TF resize: the suite must catch them on real classes.

Each mutant is a ``TransformersAdapter`` whose ``resize`` installs one defect around
``model.resize_token_embeddings(n)`` and removes it afterwards, by shadowing one step of
transformers' resize path on the model instance (tests/real_path.py: ``_get_resized_embeddings``
/ ``_v2_get_resized_embeddings``, ``_get_resized_lm_head_bias`` / ``_v2_get_resized_lm_head_bias``,
``_get_resized_lm_head_decoder``, ``set_input_embeddings``, ``set_bias``, or
``resize_token_embeddings`` itself). Two defects sit where their property is observed instead:
the id lookup of the forward (``call``) and ``save_pretrained`` (``save``).

Every mutant is declared as in tests/mutants.py (``kills``: each check that must report it as
``failed`` -> a substring of the failure message; ``description``: the defect) and names the real
classes it runs on (``classes``; ``only_on`` narrows a check to some of the classes, ``only_cases``
to the cases that exercise the defect). A mutant
whose defect the unmutated classes already have (``already_in_library``) cannot be told apart;
the test then asserts the check fails on the unmutated class. Run by
tests/test_mutants_transformers.py; scripts/catch_table.py tabulates it. Not named
``mutants*.py``: tests/test_mutants.py collects those as reference-adapter mutants.
"""

import numpy as np
import tensorflow as tf
from real_path import (
    ALL_FOUR,
    BERT,
    BIASED,
    GPT2,
    REMBERT,
    T5,
    V2,
    RealMutant,
    after_step,
    edit_new_bias,
    edit_new_matrix,
    embeddings_step,
    is_v2,
    keras,
    shadow,
)

from harness.adapters.transformers_adapter import follow


# -- LM-head bias ------------------------------------------------------------------------
class WipesKeptBias(RealMutant):
    classes = BIASED
    kills = {"bias.prefix_kept_new_zero": "kept entries", "oracle.bias_matches_reference": "vs the reference resize",
             "function.kept_logits_unchanged": "logits of kept tokens"}
    description = "The resized bias keeps no values: kept entries are zeroed (observable only on a non-zero bias)."

    def inject(self, model, n):
        return edit_new_bias(model, lambda v, old: np.zeros_like(v))


class NewBiasEntriesNonZero(RealMutant):
    classes = BIASED
    kills = {"bias.prefix_kept_new_zero": "new entries", "oracle.bias_matches_reference": "vs the reference resize"}
    description = "New bias entries keep init_copy_embeddings' pad value -1 (the mask is not applied)."

    def inject(self, model, n):
        def edit(values, old):
            values[..., old:] = -1.0
            return values

        return edit_new_bias(model, edit)


class BiasNotResized(RealMutant):
    classes = BIASED
    kills = {"bias.all_keys_resized": "': shape [", "oracle.bias_matches_reference": "': shape ["}
    description = "The bias step returns the old bias dict: the LM-head bias keeps the old size."

    def inject(self, model, n):
        name = "_v2_get_resized_lm_head_bias" if is_v2(model) else "_get_resized_lm_head_bias"
        return shadow(model, name, lambda original: lambda old_bias, new_num_tokens: dict(old_bias))


class BiasMetadataLost(RealMutant):
    classes = BIASED
    kills = {"bias.names_and_trainability_kept": "changed from"}
    description = ("The new bias loses its variable metadata: BERT's is renamed, BART's frozen final_logits_bias "
                   "becomes trainable.")

    def inject(self, model, n):
        if is_v2(model):  # BART: set_bias builds BiasLayer(trainable=False); this one is trainable
            def make(original):
                def set_bias(value):
                    from transformers.models.bart.modeling_tf_bart import BiasLayer

                    bias = value["final_logits_bias"]
                    model.bias_layer = BiasLayer(name="final_logits_bias", shape=[1, bias.shape[-1]],
                                                 initializer="zeros", trainable=True)
                    model.bias_layer.bias.assign(bias)

                return set_bias

            return shadow(model, "set_bias", make)

        def make_step(original):  # v1: add_weight inside the bias step gets another name
            def step(old_bias, new_num_tokens):
                def add_weight(*args, name=None, **kwargs):
                    return type(model).add_weight(model, *args, name=f"{name}_resized", **kwargs)

                with shadow(model, "add_weight", lambda _orig: add_weight):
                    return original(old_bias, new_num_tokens)

            return step

        return shadow(model, "_get_resized_lm_head_bias", make_step)


# -- new rows and kept rows -------------------------------------------------------------------
class NewRowsZero(RealMutant):
    classes = ALL_FOUR
    kills = {"grow.new_rows_initialised": "new rows are constant"}
    description = "New embedding rows are zeros (the random init is dropped)."

    def inject(self, model, n):
        def edit(values, old):
            values[old:] = 0.0
            return values

        return edit_new_matrix(model, edit)


class NewRowsConstant(RealMutant):
    classes = ALL_FOUR
    kills = {"grow.new_rows_initialised": "new rows are constant"}
    description = "New embedding rows all hold one small constant (0.01): in range, but every new token alike."

    def inject(self, model, n):
        def edit(values, old):
            values[old:] = 0.01
            return values

        return edit_new_matrix(model, edit)


class NewRowsScaledTenfold(RealMutant):
    classes = ALL_FOUR
    kills = {"grow.new_rows_initialised": "std of the same matrix in a fresh build"}
    description = "New embedding rows drawn at 10x the initializer's scale."

    def inject(self, model, n):
        def edit(values, old):
            values[old:] *= 10.0
            return values

        return edit_new_matrix(model, edit)


class KeptRowsPerturbed(RealMutant):
    classes = ALL_FOUR
    kills = {"grow.prefix_preserved": "rows [0, old)", "shrink.prefix_preserved": "rows [0, new)",
             "oracle.matches_reference": "vs the reference resize",
             "function.kept_logits_unchanged": "logits of kept tokens"}
    # Not a uniform shift: LayerNorm removes one from both ends of GPT-2, so its logits would not show it.
    description = "Kept embedding rows come back with noise of scale 1e-3 (e.g. a lossy copy of the old matrix)."

    def inject(self, model, n):
        def edit(values, old):
            keep = min(old, n)
            values[:keep] += np.random.default_rng(0).normal(0.0, 1e-3, size=values[:keep].shape)
            return values

        return edit_new_matrix(model, edit)


class OneRowTooMany(RealMutant):
    classes = ALL_FOUR
    kills = {"grow.shape": "input matrix: shape", "shrink.shape": "input matrix: shape",
             "oracle.matches_reference": "input matrix: shape"}
    description = "The embedding step is asked for N + 1 rows (an off-by-one) while the config says N."

    def inject(self, model, n):
        return shadow(model, embeddings_step(model),
                      lambda original: lambda old, new_num_tokens=None: original(old, new_num_tokens + 1))


class UpcastsEmbeddings(RealMutant):
    classes = ALL_FOUR
    kills = {"grow.dtype_preserved": "input matrix: dtype", "dtype.variables_keep_dtype": "is float32, expected"}
    description = ("The new input embeddings are created one precision up: float16/bfloat16 as float32 (what v1's "
                   "hard-coded dtype=tf.float32 would make a half-precision model), float32 as float64.")
    only_on = {"dtype.variables_keep_dtype": V2}  # BERT's v1 resize cannot resize a float16 model at all
    WIDER = {"float16": "float32", "bfloat16": "float32", "float32": "float64"}

    def inject(self, model, n):
        if is_v2(model):
            def upcast_layer(new, old, *_a, **_k):
                wide = self.WIDER[new.embeddings.dtype.name]
                layer = keras().layers.Embedding(new.input_dim, new.output_dim, dtype=wide, name=new.name)
                layer(tf.constant([[0]]))
                layer.embeddings.assign(tf.cast(new.embeddings, wide))
                return layer

            return after_step(model, "_v2_get_resized_embeddings", upcast_layer)

        def upcast_variable(new, old, *_a, **_k):
            tracked = model._trainable_weights  # add_weight tracked the new variable: untrack it
            del tracked[next(i for i, w in enumerate(tracked) if w is new)]
            wide = self.WIDER[new.dtype.name]
            var = model.add_weight(name=new.name.split(":")[0], shape=new.shape, dtype=wide, initializer="zeros")
            var.assign(tf.cast(new, wide))
            return var

        return after_step(model, "_get_resized_embeddings", upcast_variable)


class FrozenNewEmbeddings(RealMutant):
    classes = ALL_FOUR
    kills = {"train.gradient_reaches_new_rows": "new input rows did not change"}
    description = "The new input embeddings are created non-trainable: new tokens never learn."

    def inject(self, model, n):
        if is_v2(model):
            def freeze(new, *_a, **_k):
                new.trainable = False
                return new

            return after_step(model, "_v2_get_resized_embeddings", freeze)

        def make_step(original):  # v1: the step's add_weight creates the variable with trainable=False
            def step(*args, **kwargs):
                def add_weight(*a, **kw):
                    return type(model).add_weight(model, *a, **{**kw, "trainable": False})

                with shadow(model, "add_weight", lambda _orig: add_weight):
                    return original(*args, **kwargs)

            return step

        return shadow(model, "_get_resized_embeddings", make_step)


class StaleEmbeddingsTracked(RealMutant):
    classes = ALL_FOUR
    kills = {"stale.no_old_size_variables": "variables differ from a fresh model"}
    description = "The old input embeddings stay tracked by the model (saved with it, never freed)."

    def inject(self, model, n):
        def keep_old(new, old, *_a, **_k):
            model.previous_input_embeddings = old  # a tracked attribute: the old variable stays
            return new

        return after_step(model, embeddings_step(model), keep_old)


# -- the tie and the untied head ----------------------------------------------------------------
class TieReplacedByCopy(RealMutant):
    classes = (BERT, T5)  # GPT-2 and BART compute logits from the input layer itself: no head to untie
    kills = {"tied.still_tied": "no longer the same variable",
             "tied.tie_survives_training": "was not updated by the train step",
             "oracle.tie_matches_reference": "tie state changed"}
    description = ("The tied head gets an equal-valued copy of the new input matrix instead of the same variable "
                   "(BERT: the MLM head's input_embeddings; T5: an lm_head Dense with tie_word_embeddings=False).")

    def inject(self, model, n):
        layers = keras().layers
        if is_v2(model):  # T5
            def untie(result, *_a, **_k):
                matrix = model.get_input_embeddings().embeddings
                model.config.tie_word_embeddings = False
                model.lm_head = layers.Dense(int(matrix.shape[0]), use_bias=False, name="lm_head")
                model.lm_head.build([None, None, int(matrix.shape[1])])
                model.lm_head.kernel.assign(tf.transpose(matrix))
                return result

            return after_step(model, "_v2_resize_token_embeddings", untie)

        class HeadCopy(layers.Layer):
            def __init__(self, weight, **kwargs):
                super().__init__(**kwargs)
                self.weight = self.add_weight(name="weight", shape=weight.shape, initializer="zeros")
                self.weight.assign(weight)
                self.vocab_size = int(weight.shape[0])

        def untie(result, *_a, **_k):  # BERT: the head reads its own copy from now on
            head = model.get_lm_head()
            head.input_embeddings = HeadCopy(head.input_embeddings.weight, name="decoder_copy")
            return result

        return after_step(model, "_resize_token_embeddings", untie)


class DecoderNotResized(RealMutant):
    classes = (REMBERT,)
    kills = {"untied.decoder_resized": "output matrix: shape", "grow.shape": "output matrix: shape",
             "shrink.shape": "output matrix: shape", "oracle.matches_reference": "output matrix"}
    description = "The untied LM-head decoder is left at the old size (_get_resized_lm_head_decoder returns it)."

    def inject(self, model, n):
        return shadow(model, "_get_resized_lm_head_decoder", lambda original: lambda old, new_num_tokens: old)


class TieDecidedByValues(RealMutant):
    classes = (REMBERT,)
    kills = {"untied.value_equal_head_independent": "output matrix: shape"}
    description = "An untied decoder that equals the input matrix is taken for tied and left unresized."
    already_in_library = ("transformers' own _get_resized_lm_head_decoder decides the tie with "
                          "tf.reduce_any(input == decoder) (manifests/transformers.toml), and the only "
                          "classes whose untied head resizes at all (RemBERT, MobileBERT) take that path; "
                          "T5's untied resize raises before deciding (manifest)")

    def inject(self, model, n):
        def make(original):
            def step(old, new_num_tokens):
                same = np.array_equal(np.asarray(follow(model, self.probe().input_path)), np.asarray(old))
                return old if same else original(old, new_num_tokens)

            return step

        return shadow(model, "_get_resized_lm_head_decoder", make)


# -- config, sizes, repeated and no-op resizes ----------------------------------------------------
class StaleConfigVocabSize(RealMutant):
    classes = ALL_FOUR
    kills = {"config.vocab_size_updated": "config.vocab_size is", "oracle.matches_reference": "config vocab_size is"}
    description = "config.vocab_size keeps the old size (the update at the end of resize_token_embeddings is lost)."

    def inject(self, model, n):
        def make(original):
            def resize(new_num_tokens=None):
                old = model.config.vocab_size
                out = original(new_num_tokens)
                model.config.vocab_size = old
                return out

            return resize

        return shadow(model, "resize_token_embeddings", make)


class AcceptsCoercibleSizes(RealMutant):
    classes = ALL_FOUR
    kills = {"bad_input.size_rejected": "expected an error"}
    description = "Sizes are coerced with int() before the resize: True becomes 1, 9.5 becomes 9, 12.0 becomes 12."
    only_cases = {"bad_input.size_rejected": ("bad=bool_true", "bad=float", "bad=integral_float")}

    def inject(self, model, n):
        def make(original):
            def resize(new_num_tokens=None):
                if isinstance(new_num_tokens, (bool, float, np.floating)) and np.isfinite(new_num_tokens):
                    new_num_tokens = max(1, int(new_num_tokens))
                return original(new_num_tokens)

            return resize

        return shadow(model, "resize_token_embeddings", make)


class RaisesAfterSettingInput(RealMutant):
    classes = ALL_FOUR
    kills = {"atomic.failed_resize_leaves_model_unchanged": "raised RuntimeError"}
    description = "The resize raises half-way, after set_input_embeddings installed the new matrix."
    only_cases = {"atomic.failed_resize_leaves_model_unchanged": ("size=12,", "size=13,", "size=5,", "size=1,")}

    def inject(self, model, n):
        def make(original):
            def set_input_embeddings(value):
                original(value)
                raise RuntimeError("injected: resize failed after set_input_embeddings")

            return set_input_embeddings

        return shadow(model, "set_input_embeddings", make)


class RebuildsOnSameSize(RealMutant):
    classes = ALL_FOUR
    kills = {"noop.none_returns_current": "replaced by a new object",
             "noop.same_size_identity": "replaced by a new object"}
    description = "resize(None) and resize(current size) rebuild the embeddings instead of returning them."

    def inject(self, model, n):
        def make(original):
            def resize(new_num_tokens=None):
                current = model.config.vocab_size
                if new_num_tokens is not None and new_num_tokens != current:
                    return original(new_num_tokens)
                rebuild = model._v2_resize_token_embeddings if is_v2(model) else model._resize_token_embeddings
                rebuild(current)
                return model.get_input_embeddings()

            return resize

        return shadow(model, "resize_token_embeddings", make)


class SecondResizeIgnored(RealMutant):
    classes = ALL_FOUR
    kills = {"twice.sequential_resizes": "after two resizes"}
    description = "Only the first resize of a model takes effect; later ones return the embeddings unchanged."

    def inject(self, model, n):
        def make(original):
            def resize(new_num_tokens=None):
                if vars(model).get("_real_mutant_resized"):
                    return model.get_input_embeddings()
                out = original(new_num_tokens)
                vars(model)["_real_mutant_resized"] = new_num_tokens is not None
                return out

            return resize

        return shadow(model, "resize_token_embeddings", make)


# -- where the property is observed: forward and save -------------------------------------------
class EagerOnlyEmbeddings(RealMutant):
    classes = (BERT, GPT2, T5)  # not BART: it traces only through autograph, ~15 s of CPU per process
    kills = {"dynamic.traced_forward_unknown_shape": "traced call on ids"}
    description = "The resized input embedding layer reads its ids with .numpy(): it only runs eagerly."

    def inject(self, model, n):
        def eager_only(result, *_a, **_k):
            layer = model.get_input_embeddings()
            call = layer.call

            def eager_call(*args, **kwargs):
                args = list(args)
                key = "input_ids" if "input_ids" in kwargs else ("inputs" if "inputs" in kwargs else None)
                ids = kwargs[key] if key else args[0]
                ids = None if ids is None else tf.constant(ids.numpy())
                if key:
                    kwargs[key] = ids
                else:
                    args[0] = ids
                return call(*args, **kwargs)

            vars(layer)["call"] = eager_call
            return result

        step = "_v2_resize_token_embeddings" if is_v2(model) else "_resize_token_embeddings"
        return after_step(model, step, eager_only)


class ClipsOutOfRangeIds(RealMutant):
    classes = ALL_FOUR
    kills = {"ids.out_of_range_rejected": "expected an error"}
    description = "The id lookup clamps ids into [0, V) instead of rejecting them (as tf.gather does on GPU)."

    def call(self, model, ids):
        rows = tf.shape(follow(model, self.probe().input_path), out_type=ids.dtype)[0]
        return super().call(model, tf.clip_by_value(ids, 0, rows - 1))


class SaveWritesZeroBias(RealMutant):
    classes = BIASED
    kills = {"saveload.roundtrip_weights": "values of variable", "saveload.roundtrip_outputs": "logits after save/load"}
    description = ("save_pretrained writes the LM-head bias as zeros (as if dropped: BART re-creates a missing "
                   "final_logits_bias as zeros on load, _keys_to_ignore_on_load_missing).")

    def save(self, model, path, *args, **kwargs):
        bias = model.get_bias() or {}
        kept = {key: var.numpy() for key, var in bias.items()}
        for var in bias.values():
            var.assign(tf.zeros_like(var))
        try:
            return super().save(model, path, *args, **kwargs)
        finally:
            for key, var in bias.items():
                var.assign(kept[key])


CATALOGUE = [obj for obj in list(globals().values())
             if isinstance(obj, type) and issubclass(obj, RealMutant) and obj is not RealMutant]
CLASSES = sorted({c for m in CATALOGUE for c in m.classes})


def pairs():
    """Every (mutant, class name) the catalogue runs."""
    return [(m, c) for m in CATALOGUE for c in m.classes]
