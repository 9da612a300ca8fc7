"""The mutant catalogue: deliberately broken adapters, each killing named checks.

Every mutant is the reference adapter with one defect. ``kills`` lists the check
ids the suite must report as *failed* for it. Together the mutants cover every
registered check (tests/test_mutants.py enforces this).
"""

import numpy as np
import tensorflow as tf

from harness.adapters.reference import ReferenceAdapter
from reference import resize_matrix
from reference.bias import resize_bias_dict
from reference.causal_lm import ReferenceCausalLM
from reference.matrix import variable_like
from reference.validate import validate_num_tokens


def broken_resize(model, n, *, validate=True, config_first=False, lenient=False, ignore_min=False,
                  pad=None, shift=False, size_delta=0, upcast=False, lose_tie=False, value_tie=False,
                  skip_decoder=False, skip_bias=False, bias_new=None, flatten_bias=False,
                  bias_meta_lost=False, stale_config=False, stale_cache=False, frozen=False,
                  keep_old=False, rebuild_same=False, reinit_body=False):
    """The reference resize with knobs that each introduce one defect."""
    cfg = model.config
    if n is None:
        if rebuild_same:
            n = cfg.vocab_size
        else:
            return model.get_input_embeddings()
    if config_first:
        cfg.vocab_size = n
    if lenient:
        n = int(float(n[0] if isinstance(n, list) else n))
    minimum = 1 if ignore_min else cfg.min_vocab_size
    if validate:
        n = validate_num_tokens(n, minimum=minimum)
    old_in, old_out, old_bias = model.get_input_embeddings(), model.get_output_embeddings(), model.get_bias()
    if n == int(tf.shape(old_in)[0]) and not rebuild_same:
        return old_in
    target = n + size_delta
    tied = old_out is old_in
    if value_tie and old_out is not None:
        tied = bool(np.any(old_in.numpy() == old_out.numpy()))

    def make(old, seed):
        value = resize_matrix(old, target, seed=seed, min_num_tokens=minimum)
        rows = int(tf.shape(old)[0])  # the reference's variables have an unknown static shape
        if pad is not None and target > rows:
            value = tf.concat([value[:rows], tf.fill([target - rows, value.shape[1]], tf.cast(pad, value.dtype))], 0)
        if shift:
            value = tf.roll(value, shift=-1, axis=0)
        if upcast:
            value = tf.cast(value, tf.float32)
        var = tf.Variable(value, name=old.name.split(":")[0], trainable=not frozen)
        return var

    new_in = make(old_in, 0)
    if keep_old:
        model.embed.previous_versions = [old_in]
    model.set_input_embeddings(new_in)
    if model.head.tied:
        if lose_tie:
            model.head.tied = False
            model.head.decoder = tf.Variable(new_in.value(), name="lm_head/decoder")
    elif not skip_decoder and not (value_tie and tied):
        model.set_output_embeddings(make(old_out, 1))
    if old_bias and not skip_bias:
        new_bias = resize_bias_dict(old_bias, target, min_num_tokens=minimum)
        for key, var in new_bias.items():
            value = var.value()
            k = int(tf.shape(old_bias[key])[-1])
            if bias_new is not None and target > k:
                value = tf.concat([value[..., :k], tf.fill(tf.concat([tf.shape(value)[:-1], [target - k]], 0),
                                                           tf.cast(bias_new, value.dtype))], -1)
            if flatten_bias:
                value = tf.reshape(value, [-1])
            if bias_meta_lost:
                new_bias[key] = tf.Variable(value, name="renamed_bias", trainable=True)
            else:
                new_bias[key] = variable_like(var, value)
        model.set_bias(new_bias)
    if reinit_body:
        kernel = model.body.kernel
        kernel.assign(tf.random.stateless_uniform(kernel.shape, [9, 9], -0.5, 0.5, dtype=kernel.dtype))
    if not stale_config:
        cfg.vocab_size = n
    if not stale_cache:
        model.set_cached_vocab_size(n)
    return model.get_input_embeddings()


class Mutant(ReferenceAdapter):
    kills = ()
    knobs = {}
    description = ""

    def resize(self, model, new_num_tokens):
        return broken_resize(model, new_num_tokens, **self.knobs)


def mutant(name, kills, description, **knobs):
    return type(name, (Mutant,), {"kills": tuple(kills), "knobs": knobs, "description": description,
                                  "name": f"mutant-{name}"})


# -- resize defects -------------------------------------------------------------
PadsMinusOne = mutant("PadsMinusOne", ["grow.new_rows_initialised"],
                      "new rows padded with -1 (transformers' init_copy_embeddings pad value)", pad=-1.0)
ZeroInit = mutant("ZeroInit", ["grow.new_rows_initialised"], "new rows are zeros", pad=0.0)
DropsARow = mutant("DropsARow", ["grow.prefix_preserved", "shrink.prefix_preserved",
                                 "function.kept_logits_unchanged"],
                   "rows shifted by one: row 0 dropped", shift=True)
OffByOne = mutant("OffByOne", ["grow.shape", "shrink.shape", "twice.sequential_resizes"],
                  "matrices get N+1 rows while the config says N", size_delta=1)
UpcastsToFloat32 = mutant("UpcastsToFloat32", ["grow.dtype_preserved"],
                          "new embeddings created as float32 (transformers' dtype=tf.float32)", upcast=True)
LosesTie = mutant("LosesTie", ["tied.still_tied", "tied.tie_survives_training"],
                  "a tied head gets an equal-valued copy instead of the same variable", lose_tie=True)
ValueTieDecision = mutant("ValueTieDecision", ["untied.value_equal_head_independent"],
                          "tie decided by comparing values (transformers' tf.reduce_any(a == b))",
                          value_tie=True)
SkipsDecoder = mutant("SkipsDecoder", ["untied.decoder_resized"], "untied decoder left at the old size",
                      skip_decoder=True)
ForgetsBias = mutant("ForgetsBias", ["bias.all_keys_resized", "bias.prefix_kept_new_zero"],
                     "the bias dict is not resized", skip_bias=True)
BiasNewOnes = mutant("BiasNewOnes", ["bias.prefix_kept_new_zero"], "new bias entries are 1", bias_new=1.0)
FlattensBias = mutant("FlattensBias", ["bias.all_keys_resized"], "[1, V] bias comes back as [V]",
                      flatten_bias=True)
BiasMetaLost = mutant("BiasMetaLost", ["bias.names_and_trainability_kept"],
                      "bias recreated trainable and renamed", bias_meta_lost=True)
StaleConfig = mutant("StaleConfig", ["config.vocab_size_updated", "saveload.roundtrip_weights"],
                     "config.vocab_size not updated", stale_config=True)
StaleLayerCache = mutant("StaleLayerCache", ["config.vocab_size_updated"],
                         "per-layer cached vocab sizes not updated", stale_cache=True)
RebuildsOnNone = mutant("RebuildsOnNone", ["noop.none_returns_current"],
                        "resize(None) rebuilds the embeddings at the current size", rebuild_same=True)
FrozenNewRows = mutant("FrozenNewRows", ["train.gradient_reaches_new_rows"],
                       "resized variables are created non-trainable", frozen=True)
LeaksOldVariable = mutant("LeaksOldVariable", ["stale.no_old_size_variables"],
                          "the old embedding variable stays tracked by the model", keep_old=True)
LenientSize = mutant("LenientSize", ["bad_input.size_rejected"],
                     "sizes coerced with int(float(x)) and not validated", lenient=True, validate=False)
ConfigFirst = mutant("ConfigFirst", ["bad_input.size_rejected"],
                     "config.vocab_size set before the size is validated", config_first=True)
IgnoresMinimum = mutant("IgnoresMinimum", ["shrink.below_minimum_rejected"],
                        "shrinks below min_vocab_size", ignore_min=True)
ReinitsBody = mutant("ReinitsBody", ["function.kept_logits_unchanged"],
                     "resize re-initialises the body layer (a rebuild that loses trained weights)",
                     reinit_body=True)


class SameSizeRebuilds(Mutant):
    kills = ("noop.same_size_identity",)
    description = "a same-size resize rebuilds the variables"
    name = "mutant-SameSizeRebuilds"
    knobs = {"rebuild_same": True}


class SecondResizeIgnored(Mutant):
    kills = ("twice.sequential_resizes",)
    description = "only the first resize of a model takes effect"
    name = "mutant-SecondResizeIgnored"

    def resize(self, model, new_num_tokens):
        if getattr(model, "_resized_once", False) and new_num_tokens is not None:
            return model.get_input_embeddings()
        out = model.resize_token_embeddings(new_num_tokens)
        model._resized_once = new_num_tokens is not None
        return out


# -- forward / model defects ----------------------------------------------------
class EagerOnlyForward(ReferenceAdapter):
    kills = ("dynamic.traced_forward_unknown_shape",)
    description = "the forward pass reads ids with .numpy(), so it only works eagerly"
    name = "mutant-EagerOnlyForward"

    def call(self, model, ids):
        return model(tf.constant(np.asarray(ids.numpy())))


class WrapsIds(ReferenceAdapter):
    kills = ("ids.out_of_range_rejected",)
    description = "ids wrapped modulo the vocabulary instead of rejected"
    name = "mutant-WrapsIds"

    def call(self, model, ids):
        return model(tf.math.floormod(ids, tf.shape(model.embed.embeddings, out_type=ids.dtype)[0]))


class NewIdsStale(ReferenceAdapter):
    kills = ("grow.new_ids_usable",)
    description = "the id range check uses the build-time vocabulary size"
    name = "mutant-NewIdsStale"

    def build(self, spec):
        model = super().build(spec)
        model.built_vocab = spec.vocab_size
        return model

    def call(self, model, ids):
        with tf.control_dependencies([tf.debugging.assert_less(ids, tf.cast(model.built_vocab, ids.dtype))]):
            return model(tf.identity(ids))


class LoadDropsBias(ReferenceAdapter):
    kills = ("saveload.roundtrip_weights", "saveload.roundtrip_outputs")
    description = "load resets the LM-head bias to zeros"
    name = "mutant-LoadDropsBias"

    def load(self, path):
        model = ReferenceCausalLM.from_pretrained(path)
        for var in (model.get_bias() or {}).values():
            var.assign(tf.zeros_like(var))
        return model


# -- matrix-level defects -------------------------------------------------------
class EagerOnlyMatrix(ReferenceAdapter):
    kills = ("matrix.graph_unknown_dims",)
    description = "resize_matrix needs eager values (int(tf.shape(...)))"
    name = "mutant-EagerOnlyMatrix"

    def resize_matrix(self, matrix, n):
        return resize_matrix(tf.constant(np.asarray(matrix)), int(n), seed=0)


class NumpyPathFloat64(ReferenceAdapter):
    kills = ("matrix.input_kinds",)
    description = "numpy input goes through a float64 concatenate"
    name = "mutant-NumpyPathFloat64"

    def resize_matrix(self, matrix, n):
        if isinstance(matrix, np.ndarray):
            extra = np.zeros((max(n - matrix.shape[0], 0), matrix.shape[1]))
            return np.concatenate([matrix[:n].astype(np.float64), extra])
        return super().resize_matrix(matrix, n)


class MatrixUpcasts(ReferenceAdapter):
    kills = ("matrix.dtype_preserved",)
    description = "resize_matrix returns float32 whatever the input dtype"
    name = "mutant-MatrixUpcasts"

    def resize_matrix(self, matrix, n):
        return tf.cast(super().resize_matrix(matrix, n), tf.float32)


class LaundersNaN(ReferenceAdapter):
    kills = ("matrix.nonfinite_not_laundered",)
    description = "NaN/Inf replaced with finite numbers (nan_to_num)"
    name = "mutant-LaundersNaN"

    def resize_matrix(self, matrix, n):
        out = resize_matrix(matrix, n, seed=0, nonfinite="keep")
        return tf.where(tf.math.is_finite(out), out, tf.zeros_like(out))


ALL = [obj for obj in list(globals().values())
       if isinstance(obj, type) and issubclass(obj, ReferenceAdapter) and getattr(obj, "kills", ())]
