"""Mutants for the pad, mean_init, remap, width and rnn families (and the Keras 3 adapter).

Each is a working adapter with one defect, declared as in tests/mutants.py: ``kills`` maps each
check that must report it as failed to a substring of the failure message, ``description`` says
the defect. Families whose defects differ in one step share a base class that splits the
operation into steps (``_MeanResize.new_rows``, ``_PatchedCell.patch``).
"""

import numpy as np
import tensorflow as tf
from mutants import Mutant, collect

from harness.adapters.keras3_reversible import Keras3ReversibleAdapter
from harness.adapters.keras_rnn import KerasRNNAdapter
from harness.adapters.reference import ReferenceAdapter
from reference import resize_matrix, resize_model_width, resize_rnn_cell, resize_width
from reference.bias import resize_bias_dict
from reference.matrix import variable_like
from reference.mean_init import mean_initializer, mean_resize_bias_dict, row_statistics
from reference.remap import remap_token_embeddings
from reference.rnn import cell_layout, cell_weights, resize_gate_weights


def _set_all(model, new_in, new_out, new_bias, n):
    """Install new weights like reference.model_resize does (tie by identity)."""
    model.set_input_embeddings(new_in)
    if model.head.tied:
        model.set_output_embeddings(new_in)
    elif new_out is not None:
        model.set_output_embeddings(new_out)
    if new_bias is not None:
        model.set_bias(new_bias)
    model.config.vocab_size = n
    model.set_cached_vocab_size(n)


def _untie(model):
    if model.head.tied:
        model.head.tied = False
        model.head.decoder = tf.Variable(model.embed.embeddings.value(), name="lm_head/decoder")


# -- pad_to_multiple_of -----------------------------------------------------------------------
class PadIgnored(Mutant, ReferenceAdapter):
    kills = {"pad.rounds_up": "input matrix: shape", "pad.config_records_padded": "expected the padded"}
    description = "pad_to_multiple_of ignored"

    def resize_padded(self, model, n, m):
        return model.resize_token_embeddings(n)


class PadRoundsDown(Mutant, ReferenceAdapter):
    kills = {"pad.rounds_up": "input matrix: shape"}
    description = "the size rounds down to a multiple (n // m * m)"

    def resize_padded(self, model, n, m):
        n = model.config.vocab_size if n is None else n
        return model.resize_token_embeddings(max(m, n // m * m))


class PadConfigUnpadded(Mutant, ReferenceAdapter):
    kills = {"pad.config_records_padded": "expected the padded"}
    description = "matrices padded but the config and caches record the unpadded size"

    def resize_padded(self, model, n, m):
        out = model.resize_token_embeddings(n, pad_to_multiple_of=m)
        unpadded = n if n is not None else model.config.vocab_size
        model.config.vocab_size = unpadded
        model.set_cached_vocab_size(unpadded)
        return out


class PadLenientMultiple(Mutant, ReferenceAdapter):
    kills = {"pad.bad_multiple_rejected": "expected an error, but the call returned"}
    description = "the multiple coerced with int(float(m)) or 1"

    def resize_padded(self, model, n, m):
        return model.resize_token_embeddings(n, pad_to_multiple_of=abs(int(float(m))) or 1)


# -- mean resizing ----------------------------------------------------------------------------
class MeanIgnored(Mutant, ReferenceAdapter):
    kills = {"mean_init.new_rows_near_mean": "the noise is not the old rows' covariance",
             "mean_init.fallback_is_mean": "new rows vs the old rows' mean",
             "mean_init.bias_mean": "new entries vs the old mean"}
    description = "mean_resizing ignored: new rows from the zero-mean truncated normal"

    def resize_mean(self, model, n, seed):
        return model.resize_token_embeddings(n, seed=seed)


class _MeanResize(Mutant, ReferenceAdapter):
    """A mean-resize whose new rows of each matrix come from ``new_rows`` and whose bias is
    resized by ``resize_bias`` (the steps a mean-resize defect overrides)."""

    def resize_mean(self, model, n, seed):
        old_in, old_out, old_bias = model.get_input_embeddings(), model.get_output_embeddings(), model.get_bias()

        def grow(var, which):
            k = n - int(tf.shape(var)[0])
            rows = tf.cast(self.new_rows(model, var, k, which, seed), var.dtype)
            return variable_like(var, tf.concat([var.value(), rows], axis=0))

        new_in = grow(old_in, "input")
        new_out = None if model.head.tied or old_out is None else grow(old_out, "output")
        _set_all(model, new_in, new_out, self.resize_bias(old_bias, n) if old_bias else None, n)
        return model.get_input_embeddings()

    def new_rows(self, model, var, k, which, seed):
        """``k`` new rows for ``var``: drawn from N(mean, 1e-9 covariance) of its rows."""
        return mean_initializer(var, seed=seed)([k, int(tf.shape(var)[1])], tf.float32)

    def resize_bias(self, old_bias, n):
        """New bias entries: the old entries' mean."""
        return mean_resize_bias_dict(old_bias, n)


class MeanHeadUsesInputStats(_MeanResize):
    kills = {"mean_init.new_rows_near_mean": "output: a new value"}
    description = "the untied head's new rows drawn from the input matrix's statistics"

    def new_rows(self, model, var, k, which, seed):
        return super().new_rows(model, model.get_input_embeddings(), k, which, seed)


class MeanStandardNoise(_MeanResize):
    kills = {"mean_init.new_rows_near_mean": "the noise is not the old rows' covariance"}
    description = "new rows = mean + N(0, I): the covariance (and its scale) ignored"

    def new_rows(self, model, var, k, which, seed):
        mean, _, _ = row_statistics(var)
        return mean + tf.random.stateless_normal([k, int(tf.shape(var)[1])], [seed, 1])


class MeanNoFallback(_MeanResize):
    kills = {"mean_init.fallback_is_mean": "new rows hold NaN/Inf"}
    description = "Cholesky of a singular covariance without a positive-definite check (NaN rows)"

    def new_rows(self, model, var, k, which, seed):
        mean, cov, _ = row_statistics(var)
        chol = tf.linalg.cholesky(1e-9 * cov)  # NaN, not an error, when cov is singular
        return mean + tf.linalg.matmul(tf.random.stateless_normal([k, int(tf.shape(var)[1])], [seed, 1]), chol,
                                       transpose_b=True)


class MeanStorageDtypeStats(_MeanResize):
    kills = {"mean_init.new_rows_near_mean": "new rows hold NaN/Inf"}
    description = "the mean computed in the storage dtype (float16 sums overflow)"

    def new_rows(self, model, var, k, which, seed):
        mean, _, _ = row_statistics(var)  # in float32
        storage_mean = tf.cast(tf.reduce_mean(var.value(), axis=0), tf.float32)  # float16: the sum overflows
        return super().new_rows(model, var, k, which, seed) - mean + storage_mean


class MeanIgnoresSeed(_MeanResize):
    kills = {"mean_init.deterministic_under_seed": "new input rows of two resizes with the same seed"}
    description = "the seed is not used (global RNG)"

    def new_rows(self, model, var, k, which, seed):
        return mean_initializer(var, seed=None)([k, int(tf.shape(var)[1])], tf.float32)


class MeanAlwaysMean(_MeanResize):
    kills = {"mean_init.sampled_not_constant": "new rows are the same vector"}
    description = "every new row is the mean even when the covariance is positive definite"

    def new_rows(self, model, var, k, which, seed):
        mean, _, _ = row_statistics(var)
        return tf.broadcast_to(mean, [k, int(tf.shape(var)[1])])


class MeanBiasZero(_MeanResize):
    kills = {"mean_init.bias_mean": "new entries vs the old mean"}
    description = "new bias entries zero instead of the old entries' mean"

    def resize_bias(self, old_bias, n):
        return resize_bias_dict(old_bias, n)


# -- vocabulary remap -------------------------------------------------------------------------
class RemapByPosition(Mutant, ReferenceAdapter):
    kills = {"remap.rows_follow_tokens": "input rows of shared tokens at their new positions",
             "remap.matches_keras_warmstart": "remap_matrix vs tf_keras.utils.warmstart_embedding_matrix"}
    description = "rows copied by position (a plain resize to len(new_vocab))"

    def remap(self, model, old_vocab, new_vocab, initializer=None):
        return model.resize_token_embeddings(len(new_vocab), initializer=initializer)

    def remap_matrix(self, old_vocab, new_vocab, matrix, initializer=None):
        if initializer is None:
            return resize_matrix(matrix, len(new_vocab))
        # rows past the old size: the initializer's rows at those positions (it returns [len(new), H])
        x = tf.convert_to_tensor(matrix)
        n, old = len(new_vocab), int(x.shape[0])
        drawn = tf.cast(initializer([n, int(x.shape[1])], x.dtype), x.dtype)
        return tf.concat([x[:n], drawn[old:]], 0)


class RemapInitIgnored(Mutant, ReferenceAdapter):
    kills = {"remap.unmatched_rows_from_initializer": "input rows of new tokens vs the initializer's rows",
             "remap.matches_keras_warmstart": "remap_matrix vs tf_keras.utils.warmstart_embedding_matrix"}
    description = "the initializer is ignored: new tokens get the default truncated normal"

    def remap(self, model, old_vocab, new_vocab, initializer=None):
        return remap_token_embeddings(model, old_vocab, new_vocab, seed=0)

    def remap_matrix(self, old_vocab, new_vocab, matrix, initializer=None):
        return super().remap_matrix(old_vocab, new_vocab, matrix)


class RemapKerasTokens(Mutant, ReferenceAdapter):
    kills = {"remap.vocab_sources": "remap_matrix with old as tensor (the other a list) vs both lists"}
    description = "tokens compared as Keras does: a string tensor's bytes never match str tokens"

    def remap_matrix(self, old_vocab, new_vocab, matrix, initializer=None):
        import tf_keras

        return tf_keras.utils.warmstart_embedding_matrix(old_vocab, new_vocab, matrix, initializer)


class RemapLenient(Mutant, ReferenceAdapter):
    kills = {"remap.bad_vocab_rejected": "expected an error, but the call returned"}
    description = "duplicate tokens, empty vocabularies and a wrong old length accepted"

    def remap(self, model, old_vocab, new_vocab, initializer=None):
        """Keras-like: no duplicate, emptiness or length checks; the last duplicate wins."""
        old, new = list(old_vocab), list(new_vocab)
        where = {t: i for i, t in enumerate(old)}

        def move(var, last_axis=False):
            x = var.numpy()
            x = np.moveaxis(x, -1, 0) if last_axis else x
            out = np.zeros((len(new),) + x.shape[1:], x.dtype)
            for j, t in enumerate(new):
                if t in where:
                    out[j] = x[where[t]]
            out = np.moveaxis(out, 0, -1) if last_axis else out
            return variable_like(var, tf.constant(out))

        new_in = move(model.get_input_embeddings())
        out = model.get_output_embeddings()
        new_out = None if model.head.tied or out is None else move(out)
        bias = model.get_bias()
        new_bias = {k: move(v, last_axis=True) for k, v in bias.items()} if bias else None
        _set_all(model, new_in, new_out, new_bias, len(new))


class RemapBiasByPosition(Mutant, ReferenceAdapter):
    kills = {"remap.rows_follow_tokens": "entries of shared tokens"}
    description = "the bias dict is resized by position instead of remapped"

    def remap(self, model, old_vocab, new_vocab, initializer=None):
        bias = {k: tf.constant(v.numpy()) for k, v in (model.get_bias() or {}).items()}  # values: the remap is in place
        remap_token_embeddings(model, old_vocab, new_vocab, initializer=initializer, seed=0)
        if bias:
            model.set_bias(resize_bias_dict(bias, len(new_vocab)))


class RemapLosesTie(Mutant, ReferenceAdapter):
    kills = {"remap.model_consistent": "the tie state changed in the remap"}
    description = "a tied model gets an equal-valued copy as its head after the remap"

    def remap(self, model, old_vocab, new_vocab, initializer=None):
        remap_token_embeddings(model, old_vocab, new_vocab, initializer=initializer, seed=0)
        _untie(model)


# -- embedding width --------------------------------------------------------------------------
def _random_pad(matrix, new_width, projection=None):
    out = resize_width(matrix, new_width, projection=projection)
    x = tf.convert_to_tensor(matrix)
    noise = tf.random.stateless_normal(tf.shape(out), [3, 4], stddev=0.02)
    keep = tf.range(tf.shape(out)[1]) < tf.shape(x)[1]
    return tf.where(keep, out, tf.cast(noise, out.dtype))


class WidthRandomPad(Mutant, ReferenceAdapter):
    kills = {"width.matrix_pad_truncate": "new columns (eager)",
             "width.pad_function_preserving": "logits before vs after zero-padding the width"}
    description = "new columns random instead of zero"

    def resize_width_matrix(self, matrix, new_width, projection=None):
        return _random_pad(matrix, new_width, projection)

    def resize_width(self, model, new_width, projection=None):
        """Random new columns in the embeddings and random new rows/columns in the body."""
        before = int(tf.shape(model.embed.embeddings)[1])
        out = resize_model_width(model, new_width, projection=projection)
        for var in {id(v): v for v in (model.get_input_embeddings(), model.get_output_embeddings())}.values():
            var.assign(_random_pad(var.value()[:, :before], int(tf.shape(var)[1])))
        kernel = model.body.kernel
        rows = _random_pad(kernel.value()[:before, :before], int(kernel.shape[1]))
        kernel.assign(tf.transpose(_random_pad(tf.transpose(rows[:, :]), int(kernel.shape[0]))))
        return out


class WidthKeepsLastColumns(Mutant, ReferenceAdapter):
    kills = {"width.matrix_pad_truncate": "kept columns (eager)"}
    description = "truncation keeps the last columns"

    def resize_width_matrix(self, matrix, new_width, projection=None):
        x = tf.convert_to_tensor(matrix)
        if projection is None and x.shape[1] is not None and new_width < x.shape[1]:
            return x[:, -new_width:]
        return resize_width(matrix, new_width, projection=projection)


class WidthIgnoresProjection(Mutant, ReferenceAdapter):
    kills = {"width.matrix_projection": "matrix @ projection"}
    description = "the projection is ignored: pad/truncate to its column count"

    def resize_width_matrix(self, matrix, new_width, projection=None):
        return resize_width(matrix, new_width if projection is None else int(np.shape(projection)[1]))


class WidthLosesTie(Mutant, ReferenceAdapter):
    kills = {"width.tie_kept": "no longer the input variable"}
    description = "a tied model gets an equal-valued copy as its head"

    def resize_width(self, model, new_width, projection=None):
        out = resize_model_width(model, new_width, projection=projection)
        _untie(model)
        return out


class WidthStaleConfig(Mutant, ReferenceAdapter):
    kills = {"width.model_shapes_and_config": "config width is"}
    description = "config.hidden_size not updated"

    def resize_width(self, model, new_width, projection=None):
        old = model.config.hidden_size
        out = resize_model_width(model, new_width, projection=projection)
        model.config.hidden_size = old
        return out


class WidthLenient(Mutant, ReferenceAdapter):
    kills = {"width.bad_width_rejected": "expected an error, but the call returned"}
    description = "widths coerced with int(float(w)) or 1"

    def resize_width(self, model, new_width, projection=None):
        width = new_width if projection is not None else (abs(int(float(new_width))) or 1)
        return resize_model_width(model, width, projection=projection)


# -- recurrent cells --------------------------------------------------------------------------
class RnnNaiveSeedCopy(Mutant, KerasRNNAdapter):
    kills = {"rnn.grow_preserves_old_units": "outputs of the old units before vs after growth",
             "rnn.new_units_stay_zero": "outputs of the new units",
             "rnn.shrink_keeps_gate_prefix": "units of every gate"}
    description = "the seed article's copy: kernel[:, :old_units*g] into a fresh cell, mixing gate blocks"

    def resize_cell(self, cell, new_units):
        """Copy kernel[:, :old*g] etc. into a fresh cell, ignoring the gate blocks (on the last axis:
        a reset_after GRU's bias is [2, 3 * units])."""
        gates, _ = cell_layout(cell)
        old, n = int(cell.units), int(new_units)
        fresh = type(cell).from_config(dict(cell.get_config(), units=n))
        fresh.build((None, int(cell.kernel.shape[0])))
        k, r, b = (v.numpy() for v in (fresh.kernel, fresh.recurrent_kernel, fresh.bias))
        ok, orr, ob = (v.numpy() for v in (cell.kernel, cell.recurrent_kernel, cell.bias))
        if n > old:
            k[:, :old * gates] = ok
            r[:old, :old * gates] = orr
            b[..., :old * gates] = ob
        else:
            k, r, b = ok[:, :n * gates], orr[:n, :n * gates], ob[..., :n * gates]
        for var, value in zip((fresh.kernel, fresh.recurrent_kernel, fresh.bias), (k, r, b)):
            var.assign(value)
        return fresh


class _PatchedCell(Mutant, KerasRNNAdapter):
    """The reference cell resize, then ``patch(old_cell, new_cell)`` breaks one thing."""

    def resize_cell(self, cell, new_units):
        new = resize_rnn_cell(cell, new_units)
        self.patch(cell, new)
        return new

    def patch(self, cell, new):
        """Nothing to break."""


class RnnOutgoingNotZeroed(_PatchedCell):
    kills = {"rnn.grow_preserves_old_units": "outputs of the old units before vs after growth"}
    description = "recurrent weights from new units into old units' gates left random"

    def patch(self, cell, new):
        gates, _ = cell_layout(cell)
        u, n = int(cell.units), int(new.units)
        r = new.recurrent_kernel.numpy().reshape(n, gates, n)
        r[u:, :, :u] = np.random.default_rng(0).normal(0, 0.5, size=r[u:, :, :u].shape)
        new.recurrent_kernel.assign(r.reshape(n, gates * n))


class RnnCandidateNotZeroed(_PatchedCell):
    kills = {"rnn.new_units_stay_zero": "outputs of the new units"}
    description = "the new units' candidate-block input weights left random"

    def patch(self, cell, new):
        gates, candidate = cell_layout(cell)
        u, n = int(cell.units), int(new.units)
        k = new.kernel.numpy().reshape(-1, gates, n)
        k[:, candidate, u:] = np.random.default_rng(1).normal(0, 0.5, size=k[:, candidate, u:].shape)
        new.kernel.assign(k.reshape(-1, gates * n))


class RnnForgetBiasZero(_PatchedCell):
    kills = {"rnn.forget_bias_follows_config": "forget-gate bias of the new units"}
    description = "new LSTM units get forget bias 0 whatever unit_forget_bias says"

    def patch(self, cell, new):
        gates, _ = cell_layout(cell)
        if gates == 4 and int(new.units) > int(cell.units):
            b = new.bias.numpy().reshape(4, -1)
            b[1, int(cell.units):] = 0.0
            new.bias.assign(b.reshape(-1))


class RnnDefaultConfig(Mutant, KerasRNNAdapter):
    kills = {"rnn.weights_and_config": "config entries changed by the resize"}
    description = "the resized cell is built from `units` alone (default initializers, name, ...)"

    def resize_cell(self, cell, new_units):
        gates, candidate = cell_layout(cell)
        # a GRU keeps reset_after: the other default would give weights of another layout
        extra = {"reset_after": cell.reset_after} if hasattr(cell, "reset_after") else {}
        new = type(cell)(int(new_units), **extra)
        new.build((None, int(cell.kernel.shape[0])))
        merged = resize_gate_weights(cell_weights(cell), int(new_units), gates=gates, candidate=candidate,
                                     fresh=cell_weights(new))
        for name, value in merged.items():
            getattr(new, name).assign(value)
        return new


class RnnLenientUnits(Mutant, KerasRNNAdapter):
    kills = {"rnn.bad_units_rejected": "expected an error, but the call returned"}
    description = "units coerced with int(float(u)) or 1"

    def resize_cell(self, cell, new_units):
        return resize_rnn_cell(cell, abs(int(float(new_units))) or 1)


# -- Keras 3 ReversibleEmbedding --------------------------------------------------------------
class Keras3ReverseWrongAxis(Mutant, Keras3ReversibleAdapter):
    kills = {"grow.shape": "output matrix: shape"}
    description = "untied reverse_embeddings [H, V] resized on its first axis"

    def resize(self, model, n):
        """Resize reverse_embeddings [H, V] on its first axis, as if it were [V, H]."""
        layer = model.embedding
        if n is None or layer.tie_weights or n == layer.input_dim:
            return model.resize_token_embeddings(n)
        reverse = layer.reverse_embeddings.value
        model.resize_token_embeddings(n)
        from reference.reversible import _replace

        _replace(layer, "reverse_embeddings", resize_matrix(reverse, n, seed=1))
        return layer.embeddings


ALL = collect(globals())
