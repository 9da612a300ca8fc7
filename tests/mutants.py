"""The mutant catalogue: deliberately broken adapters, one defect each.

Every mutant, in each ``tests/mutants*.py`` module (reference and feature adapters) and in
``tests/real_mutants.py`` (transformers' real classes), is declared the same way::

    class PadsMinusOne(ReferenceResize):
        kills = {"grow.new_rows_initialised": "new rows are constant (-1.0)"}
        description = "new rows padded with -1 (transformers' init_copy_embeddings pad value)"

        def new_matrix(self, old, rows, seed, minimum): ...   # the one step this defect breaks

``kills`` maps each check that must report the mutant as *failed* to a substring of the failure
message this defect produces: tests/test_mutants.py asserts it in every failed case of that check,
so an unrelated failure cannot "kill" the mutant. ``description`` states the defect on one line.
A class that declares ``kills`` in its own body is a mutant; each module's ``ALL`` (``collect``)
joins the catalogue, which together kills every registered check. harness/mutant_index.py reads
the same declarations without importing them (``resize-conformance list-checks --mutants``).

This module: ``Mutant`` (mixed into every reference-adapter mutant), ``ReferenceResize`` (the
reference resize split into steps) with one subclass per resize defect, each overriding one step,
and the forward, load and bare-matrix defects.
"""

import numpy as np
import tensorflow as tf

from harness.adapters.reference import ReferenceAdapter
from reference import resize_matrix
from reference.bias import resize_bias_dict
from reference.causal_lm import ReferenceCausalLM
from reference.matrix import variable_like
from reference.validate import validate_num_tokens


class Mutant:
    """Mixed into an adapter class with one deliberate defect. A subclass that declares ``kills``
    (check id -> failure-message substring) and ``description`` is a catalogue entry, reported
    under the adapter name ``mutant-<ClassName>``."""

    kills = {}
    description = ""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if vars(cls).get("kills"):
            cls.name = f"mutant-{cls.__name__}"


def collect(namespace):
    """A module's mutants (its ``ALL``): the classes it defines that declare ``kills`` themselves."""
    return [obj for obj in namespace.values() if isinstance(obj, type) and obj.__module__ == namespace["__name__"]
            and vars(obj).get("kills")]


def _rows(variable):
    return int(tf.shape(variable)[0])  # the reference's variables have an unknown static shape


# -- the reference resize, one overridable step per method ------------------------------------
class ReferenceResize(Mutant, ReferenceAdapter):
    """The reference resize (reference/model_resize.py) done as transformers does it: every resized
    weight is a new variable installed through the model's setters. Each step is a method; a resize
    defect is a subclass overriding one of them. Correct on its own (no ``kills``: not a mutant)."""

    def resize(self, model, new_num_tokens):
        if new_num_tokens is None:
            return self.on_none(model)
        n = self.validate(model, new_num_tokens)
        if n == _rows(model.get_input_embeddings()):
            return self.on_same_size(model, n)
        return self.rebuild(model, n)

    def on_none(self, model):
        """``resize(None)``: the current input embeddings, untouched."""
        return model.get_input_embeddings()

    def on_same_size(self, model, n):
        """A resize to the current size: a no-op."""
        return model.get_input_embeddings()

    def minimum(self, model):
        """Rows a resize may never drop."""
        return model.config.min_vocab_size

    def validate(self, model, n):
        """The size as an int, or a ResizeError before anything changed."""
        return validate_num_tokens(n, minimum=self.minimum(model))

    def rebuild(self, model, n):
        """Resize every vocabulary-sized weight to ``n`` and record the new size."""
        minimum, rows = self.minimum(model), self.rows_for(n)
        old_in, old_out, old_bias = model.get_input_embeddings(), model.get_output_embeddings(), model.get_bias()
        new_in = self.new_variable(old_in, self.new_matrix(old_in, rows, 0, minimum))
        self.retire(model, old_in)
        model.set_input_embeddings(new_in)
        if model.head.tied:
            self.keep_tie(model)
        elif not self.decides_tied(old_in, old_out):
            self.resize_decoder(model, old_out, rows, minimum)
        if old_bias:
            self.resize_bias(model, old_bias, rows, minimum)
        self.other_weights(model)
        self.update_config(model, n)
        self.update_caches(model, n)
        return model.get_input_embeddings()

    def rows_for(self, n):
        """Rows of the new matrices (and entries of the new biases) for a vocabulary of ``n``."""
        return n

    def new_matrix(self, old, rows, seed, minimum):
        """``old`` resized to ``rows`` rows: kept rows copied, new rows drawn with ``seed``."""
        return resize_matrix(old, rows, seed=seed, min_num_tokens=minimum)

    def new_variable(self, old, value):
        """The variable that replaces ``old``."""
        return tf.Variable(value, name=old.name.split(":")[0], trainable=True)

    def retire(self, model, old_in):
        """The replaced input variable: nothing keeps it."""

    def keep_tie(self, model):
        """A tied head reads the input variable: nothing to do."""

    def decides_tied(self, old_in, old_out):
        """Tied means the same variable object."""
        return old_out is old_in

    def resize_decoder(self, model, old_out, rows, minimum):
        """An untied head gets its own resized matrix (its own seed)."""
        model.set_output_embeddings(self.new_variable(old_out, self.new_matrix(old_out, rows, 1, minimum)))

    def resize_bias(self, model, old_bias, rows, minimum):
        """Every bias resized on its last axis: kept entries copied, new entries zero."""
        new_bias = resize_bias_dict(old_bias, rows, min_num_tokens=minimum)
        model.set_bias({key: self.new_bias_variable(var, self.new_bias_values(var.value(), _entries(old_bias[key])))
                        for key, var in new_bias.items()})

    def new_bias_values(self, value, kept):
        """The values of one resized bias (``kept``: the old bias's number of entries)."""
        return value

    def new_bias_variable(self, like, value):
        """The variable holding a resized bias: the name and trainability of ``like``."""
        return variable_like(like, value)

    def other_weights(self, model):
        """Weights outside the vocabulary: untouched."""

    def update_config(self, model, n):
        model.config.vocab_size = n

    def update_caches(self, model, n):
        model.set_cached_vocab_size(n)


def _entries(variable):
    return int(tf.shape(variable)[-1])


def _fill_new_rows(value, old_rows, fill):
    rows = int(value.shape[0])
    if rows <= old_rows:
        return value
    return tf.concat([value[:old_rows], tf.fill([rows - old_rows, value.shape[1]], tf.cast(fill, value.dtype))], 0)


# -- resize defects: each overrides one step of ReferenceResize -------------------------------
class PadsMinusOne(ReferenceResize):
    kills = {"grow.new_rows_initialised": "new rows are constant (-1.0)"}
    description = "new rows padded with -1 (transformers' init_copy_embeddings pad value)"

    def new_matrix(self, old, rows, seed, minimum):
        return _fill_new_rows(super().new_matrix(old, rows, seed, minimum), _rows(old), -1.0)


class ZeroInit(ReferenceResize):
    kills = {"grow.new_rows_initialised": "new rows are constant (0.0)"}
    description = "new rows are zeros"

    def new_matrix(self, old, rows, seed, minimum):
        return _fill_new_rows(super().new_matrix(old, rows, seed, minimum), _rows(old), 0.0)


class DropsARow(ReferenceResize):
    kills = {"grow.prefix_preserved": "input matrix rows [0, old)",
             "shrink.prefix_preserved": "input matrix rows [0, new)",
             "function.kept_logits_unchanged": "logits of kept tokens"}
    description = "rows shifted by one: row 0 dropped"

    def new_matrix(self, old, rows, seed, minimum):
        return tf.roll(super().new_matrix(old, rows, seed, minimum), shift=-1, axis=0)


class OffByOne(ReferenceResize):
    kills = {"grow.shape": "input matrix: shape", "shrink.shape": "input matrix: shape",
             "twice.sequential_resizes": "input matrix after two resizes: shape"}
    description = "matrices get N+1 rows while the config says N"

    def rows_for(self, n):
        return n + 1


class UpcastsToFloat32(ReferenceResize):
    kills = {"grow.dtype_preserved": "input matrix: dtype float32"}
    description = "new embeddings created as float32 (transformers' dtype=tf.float32)"

    def new_matrix(self, old, rows, seed, minimum):
        return tf.cast(super().new_matrix(old, rows, seed, minimum), tf.float32)


class FrozenNewRows(ReferenceResize):
    kills = {"train.gradient_reaches_new_rows": "new input rows did not change"}
    description = "resized variables are created non-trainable"

    def new_variable(self, old, value):
        return tf.Variable(value, name=old.name.split(":")[0], trainable=False)


class LeaksOldVariable(ReferenceResize):
    kills = {"stale.no_old_size_variables": "variables differ from a fresh model"}
    description = "the old embedding variable stays tracked by the model"

    def retire(self, model, old_in):
        model.embed.previous_versions = [old_in]


class LosesTie(ReferenceResize):
    kills = {"tied.still_tied": "no longer the same variable",
             "tied.tie_survives_training": "was not updated by the train step"}
    description = "a tied head gets an equal-valued copy instead of the same variable"

    def keep_tie(self, model):
        model.head.tied = False
        model.head.decoder = tf.Variable(model.get_input_embeddings().value(), name="lm_head/decoder")


class ValueTieDecision(ReferenceResize):
    kills = {"untied.value_equal_head_independent": "output matrix: shape"}
    description = "tie decided by comparing values (transformers' tf.reduce_any(a == b))"

    def decides_tied(self, old_in, old_out):
        return old_out is not None and bool(np.any(old_in.numpy() == old_out.numpy()))


class SkipsDecoder(ReferenceResize):
    kills = {"untied.decoder_resized": "output matrix: shape"}
    description = "untied decoder left at the old size"

    def resize_decoder(self, model, old_out, rows, minimum):
        pass


class ForgetsBias(ReferenceResize):
    kills = {"bias.all_keys_resized": "': shape [", "bias.prefix_kept_new_zero": "' not resized"}
    description = "the bias dict is not resized"

    def resize_bias(self, model, old_bias, rows, minimum):
        pass


class BiasNewOnes(ReferenceResize):
    kills = {"bias.prefix_kept_new_zero": "new entries: "}
    description = "new bias entries are 1"

    def new_bias_values(self, value, kept):
        shape = tf.shape(value)
        if int(shape[-1]) <= kept:
            return value
        ones = tf.ones(tf.concat([shape[:-1], [shape[-1] - kept]], 0), value.dtype)
        return tf.concat([value[..., :kept], ones], -1)


class FlattensBias(ReferenceResize):
    kills = {"bias.all_keys_resized": "bias 'final_logits_bias': shape ["}
    description = "[1, V] bias comes back as [V]"

    def new_bias_values(self, value, kept):
        return tf.reshape(value, [-1])


class BiasMetaLost(ReferenceResize):
    kills = {"bias.names_and_trainability_kept": "to 'renamed_bias:0'"}
    description = "bias recreated trainable and renamed"

    def new_bias_variable(self, like, value):
        return tf.Variable(value, name="renamed_bias", trainable=True)


class ReinitsBody(ReferenceResize):
    kills = {"function.kept_logits_unchanged": "logits of kept tokens"}
    description = "resize re-initialises the body layer (a rebuild that loses trained weights)"

    def other_weights(self, model):
        kernel = model.body.kernel
        kernel.assign(tf.random.stateless_uniform(kernel.shape, [9, 9], -0.5, 0.5, dtype=kernel.dtype))


class StaleConfig(ReferenceResize):
    kills = {"config.vocab_size_updated": "config.vocab_size is",
             "saveload.roundtrip_weights": "load (default): config vocab_size"}
    description = "config.vocab_size not updated"

    def update_config(self, model, n):
        pass


class StaleLayerCache(ReferenceResize):
    kills = {"config.vocab_size_updated": "cached vocab sizes not updated"}
    description = "per-layer cached vocab sizes not updated"

    def update_caches(self, model, n):
        pass


class RebuildsOnNone(ReferenceResize):
    kills = {"noop.none_returns_current": "resize(None): weight 'input' was replaced by a new object"}
    description = "resize(None) rebuilds the embeddings at the current size"

    def on_none(self, model):
        return self.rebuild(model, self.validate(model, model.config.vocab_size))


class SameSizeRebuilds(ReferenceResize):
    kills = {"noop.same_size_identity": "same-size resize: weight 'input' was replaced by a new object"}
    description = "a same-size resize rebuilds the variables"

    def on_same_size(self, model, n):
        return self.rebuild(model, n)


class LenientSize(ReferenceResize):
    kills = {"bad_input.size_rejected": "expected an error, but the call returned"}
    description = "sizes coerced with int(float(x)) and not validated"

    def validate(self, model, n):
        return int(float(n[0] if isinstance(n, list) else n))


class ConfigFirst(ReferenceResize):
    kills = {"bad_input.size_rejected": "the config changed after a rejected resize"}
    description = "config.vocab_size set before the size is validated"

    def validate(self, model, n):
        model.config.vocab_size = n
        return super().validate(model, n)


class IgnoresMinimum(ReferenceResize):
    kills = {"shrink.below_minimum_rejected": "expected an error, but the call returned"}
    description = "shrinks below min_vocab_size"

    def minimum(self, model):
        return 1


class SecondResizeIgnored(Mutant, ReferenceAdapter):
    kills = {"twice.sequential_resizes": "input matrix after two resizes: shape"}
    description = "only the first resize of a model takes effect"

    def resize(self, model, new_num_tokens):
        if getattr(model, "_resized_once", False) and new_num_tokens is not None:
            return model.get_input_embeddings()
        out = model.resize_token_embeddings(new_num_tokens)
        model._resized_once = new_num_tokens is not None
        return out


# -- forward / model defects ------------------------------------------------------------------
class EagerOnlyForward(Mutant, ReferenceAdapter):
    kills = {"dynamic.traced_forward_unknown_shape": "raised AttributeError"}
    description = "the forward pass reads ids with .numpy(), so it only works eagerly"

    def call(self, model, ids):
        return model(tf.constant(np.asarray(ids.numpy())))


class WrapsIds(Mutant, ReferenceAdapter):
    kills = {"ids.out_of_range_rejected": "expected an error, but the call returned"}
    description = "ids wrapped modulo the vocabulary instead of rejected"

    def call(self, model, ids):
        return model(tf.math.floormod(ids, tf.shape(model.embed.embeddings, out_type=ids.dtype)[0]))


class NewIdsStale(Mutant, ReferenceAdapter):
    kills = {"grow.new_ids_usable": "forward on new ids raised InvalidArgumentError"}
    description = "the id range check uses the build-time vocabulary size"

    def build(self, spec):
        model = super().build(spec)
        model.built_vocab = spec.vocab_size
        return model

    def call(self, model, ids):
        with tf.control_dependencies([tf.debugging.assert_less(ids, tf.cast(model.built_vocab, ids.dtype))]):
            return model(tf.identity(ids))


class LoadDropsBias(Mutant, ReferenceAdapter):
    kills = {"saveload.roundtrip_weights": "values of variable 'reference_lm/lm_head/",
             "saveload.roundtrip_outputs": "logits after save/load"}
    description = "load resets the LM-head bias to zeros"

    def load(self, path):
        model = ReferenceCausalLM.from_pretrained(path)
        for var in (model.get_bias() or {}).values():
            var.assign(tf.zeros_like(var))
        return model


# -- bare-matrix defects ----------------------------------------------------------------------
class EagerOnlyMatrix(Mutant, ReferenceAdapter):
    kills = {"matrix.graph_unknown_dims": "traced resize_matrix raised"}
    description = "resize_matrix needs eager values (int(tf.shape(...)))"

    def resize_matrix(self, matrix, n):
        return resize_matrix(tf.constant(np.asarray(matrix)), int(n), seed=0)


class NumpyPathFloat64(Mutant, ReferenceAdapter):
    kills = {"matrix.input_kinds": "result for a numpy: dtype float64"}
    description = "numpy input goes through a float64 concatenate"

    def resize_matrix(self, matrix, n):
        if isinstance(matrix, np.ndarray):
            extra = np.zeros((max(n - matrix.shape[0], 0), matrix.shape[1]))
            return np.concatenate([matrix[:n].astype(np.float64), extra])
        return super().resize_matrix(matrix, n)


class MatrixUpcasts(Mutant, ReferenceAdapter):
    kills = {"matrix.dtype_preserved": "resized matrix: dtype float32"}
    description = "resize_matrix returns float32 whatever the input dtype"

    def resize_matrix(self, matrix, n):
        return tf.cast(super().resize_matrix(matrix, n), tf.float32)


class LaundersNaN(Mutant, ReferenceAdapter):
    kills = {"matrix.nonfinite_not_laundered": "kept rows, non-finite values included"}
    description = "NaN/Inf replaced with finite numbers (nan_to_num)"

    def resize_matrix(self, matrix, n):
        out = resize_matrix(matrix, n, seed=0, nonfinite="keep")
        return tf.where(tf.math.is_finite(out), out, tf.zeros_like(out))


ALL = collect(globals())
