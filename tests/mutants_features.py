"""Mutants for the pad, mean_init, remap, width and rnn families (and the Keras 3 adapter).

Each is a working adapter with one defect; ``kills`` names the checks that must
report it as failed (tests/test_mutants.py gathers ``ALL`` from every mutants*.py).
"""

import numpy as np
import tensorflow as tf

from harness.adapters.keras3_reversible import Keras3ReversibleAdapter
from harness.adapters.keras_rnn import KerasRNNAdapter
from harness.adapters.reference import ReferenceAdapter
from reference import resize_matrix, resize_model_width, resize_rnn_cell, resize_width
from reference.bias import resize_bias_dict
from reference.matrix import variable_like
from reference.mean_init import mean_initializer, mean_resize_bias_dict, row_statistics
from reference.remap import remap_token_embeddings
from reference.rnn import cell_layout, cell_weights, resize_gate_weights


def _mutant(base, name, kills, description, **methods):
    return type(name, (base,), {"kills": tuple(kills), "description": description, "name": f"mutant-{name}",
                                **methods})


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


# -- pad_to_multiple_of ---------------------------------------------------------------------
def _round_down(self, model, n, m):
    n = model.config.vocab_size if n is None else n
    return model.resize_token_embeddings(max(m, n // m * m))


def _config_unpadded(self, model, n, m):
    out = model.resize_token_embeddings(n, pad_to_multiple_of=m)
    unpadded = n if n is not None else model.config.vocab_size
    model.config.vocab_size = unpadded
    model.set_cached_vocab_size(unpadded)
    return out


PadIgnored = _mutant(ReferenceAdapter, "PadIgnored", ["pad.rounds_up", "pad.config_records_padded"],
                     "pad_to_multiple_of ignored", resize_padded=lambda self, model, n, m:
                     model.resize_token_embeddings(n))
PadRoundsDown = _mutant(ReferenceAdapter, "PadRoundsDown", ["pad.rounds_up"],
                        "the size rounds down to a multiple (n // m * m)", resize_padded=_round_down)
PadConfigUnpadded = _mutant(ReferenceAdapter, "PadConfigUnpadded", ["pad.config_records_padded"],
                            "matrices padded but the config and caches record the unpadded size",
                            resize_padded=_config_unpadded)
PadLenientMultiple = _mutant(ReferenceAdapter, "PadLenientMultiple", ["pad.bad_multiple_rejected"],
                             "the multiple coerced with int(float(m)) or 1", resize_padded=lambda self, model, n, m:
                             model.resize_token_embeddings(n, pad_to_multiple_of=abs(int(float(m))) or 1))


# -- mean resizing ----------------------------------------------------------------------------
def _mean_resize_with(rows_for, bias_zero=False):
    """A mean-resize whose new rows of each matrix come from ``rows_for(model, var, k, which, seed)``."""

    def resize_mean(self, model, n, seed):
        old_in, old_out, old_bias = model.get_input_embeddings(), model.get_output_embeddings(), model.get_bias()

        def grow(var, which):
            k = n - int(tf.shape(var)[0])
            rows = tf.cast(rows_for(model, var, k, which, seed), var.dtype)
            return variable_like(var, tf.concat([var.value(), rows], axis=0))

        new_in = grow(old_in, "input")
        new_out = None if model.head.tied or old_out is None else grow(old_out, "output")
        resize_bias = resize_bias_dict if bias_zero else mean_resize_bias_dict
        _set_all(model, new_in, new_out, resize_bias(old_bias, n) if old_bias else None, n)
        return model.get_input_embeddings()

    return resize_mean


def _proper(model, var, k, which, seed):
    return mean_initializer(var, seed=seed)([k, int(tf.shape(var)[1])], tf.float32)


def _input_stats(model, var, k, which, seed):
    return _proper(model, model.get_input_embeddings(), k, which, seed)


def _standard_noise(model, var, k, which, seed):
    mean, _, _ = row_statistics(var)
    return mean + tf.random.stateless_normal([k, int(tf.shape(var)[1])], [seed, 1])


def _cholesky(model, var, k, which, seed):
    mean, cov, _ = row_statistics(var)
    chol = tf.linalg.cholesky(1e-9 * cov)  # NaN, not an error, when cov is singular
    return mean + tf.linalg.matmul(tf.random.stateless_normal([k, int(tf.shape(var)[1])], [seed, 1]), chol,
                                   transpose_b=True)


def _storage_dtype(model, var, k, which, seed):
    x = var.value()
    mean = tf.reduce_mean(x, axis=0)  # in float16 a sum of large values overflows
    return tf.broadcast_to(tf.cast(mean, tf.float32), [k, int(tf.shape(var)[1])])


def _unseeded(model, var, k, which, seed):
    return mean_initializer(var, seed=None)([k, int(tf.shape(var)[1])], tf.float32)


def _always_mean(model, var, k, which, seed):
    mean, _, _ = row_statistics(var)
    return tf.broadcast_to(mean, [k, int(tf.shape(var)[1])])


MeanIgnored = _mutant(ReferenceAdapter, "MeanIgnored",
                      ["mean_init.new_rows_near_mean", "mean_init.fallback_is_mean", "mean_init.bias_mean"],
                      "mean_resizing ignored: new rows from the zero-mean truncated normal",
                      resize_mean=lambda self, model, n, seed: model.resize_token_embeddings(n, seed=seed))
MeanHeadUsesInputStats = _mutant(ReferenceAdapter, "MeanHeadUsesInputStats", ["mean_init.new_rows_near_mean"],
                                 "the untied head's new rows drawn from the input matrix's statistics",
                                 resize_mean=_mean_resize_with(_input_stats))
MeanStandardNoise = _mutant(ReferenceAdapter, "MeanStandardNoise", ["mean_init.new_rows_near_mean"],
                            "new rows = mean + N(0, I): the covariance (and its scale) ignored",
                            resize_mean=_mean_resize_with(_standard_noise))
MeanNoFallback = _mutant(ReferenceAdapter, "MeanNoFallback", ["mean_init.fallback_is_mean"],
                         "Cholesky of a singular covariance without a positive-definite check (NaN rows)",
                         resize_mean=_mean_resize_with(_cholesky))
MeanStorageDtypeStats = _mutant(ReferenceAdapter, "MeanStorageDtypeStats", ["mean_init.new_rows_near_mean"],
                                "statistics computed in the storage dtype (float16 sums overflow)",
                                resize_mean=_mean_resize_with(_storage_dtype))
MeanIgnoresSeed = _mutant(ReferenceAdapter, "MeanIgnoresSeed", ["mean_init.deterministic_under_seed"],
                          "the seed is not used (global RNG)", resize_mean=_mean_resize_with(_unseeded))
MeanAlwaysMean = _mutant(ReferenceAdapter, "MeanAlwaysMean", ["mean_init.sampled_not_constant"],
                         "every new row is the mean even when the covariance is positive definite",
                         resize_mean=_mean_resize_with(_always_mean))
MeanBiasZero = _mutant(ReferenceAdapter, "MeanBiasZero", ["mean_init.bias_mean"],
                       "new bias entries zero instead of the old entries' mean",
                       resize_mean=_mean_resize_with(_proper, bias_zero=True))


# -- vocabulary remap -----------------------------------------------------------------------
def _lenient_remap(self, model, old_vocab, new_vocab, initializer=None):
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


def _bias_by_position(self, model, old_vocab, new_vocab, initializer=None):
    bias = {k: tf.constant(v.numpy()) for k, v in (model.get_bias() or {}).items()}  # values: resize is in place
    remap_token_embeddings(model, old_vocab, new_vocab, initializer=initializer, seed=0)
    if bias:
        model.set_bias(resize_bias_dict(bias, len(new_vocab)))


def _remap_loses_tie(self, model, old_vocab, new_vocab, initializer=None):
    remap_token_embeddings(model, old_vocab, new_vocab, initializer=initializer, seed=0)
    _untie(model)


def _keras_tokens(self, old_vocab, new_vocab, matrix, initializer=None):
    import tf_keras

    return tf_keras.utils.warmstart_embedding_matrix(old_vocab, new_vocab, matrix, initializer)


RemapByPosition = _mutant(
    ReferenceAdapter, "RemapByPosition", ["remap.rows_follow_tokens", "remap.matches_keras_warmstart"],
    "rows copied by position (a plain resize to len(new_vocab))",
    remap=lambda self, model, o, n, initializer=None: model.resize_token_embeddings(len(n), initializer=initializer),
    remap_matrix=lambda self, o, n, m, initializer=None: resize_matrix(m, len(n), initializer=initializer))
RemapInitIgnored = _mutant(
    ReferenceAdapter, "RemapInitIgnored",
    ["remap.unmatched_rows_from_initializer", "remap.matches_keras_warmstart"],
    "the initializer is ignored: new tokens get the default truncated normal",
    remap=lambda self, model, o, n, initializer=None: remap_token_embeddings(model, o, n, seed=0),
    remap_matrix=lambda self, o, n, m, initializer=None: ReferenceAdapter.remap_matrix(self, o, n, m))
RemapKerasTokens = _mutant(ReferenceAdapter, "RemapKerasTokens", ["remap.vocab_sources"],
                           "tokens compared as Keras does: a string tensor's bytes never match str tokens",
                           remap_matrix=_keras_tokens)
RemapLenient = _mutant(ReferenceAdapter, "RemapLenient", ["remap.bad_vocab_rejected"],
                       "duplicate tokens, empty vocabularies and a wrong old length accepted",
                       remap=_lenient_remap)
RemapBiasByPosition = _mutant(ReferenceAdapter, "RemapBiasByPosition", ["remap.rows_follow_tokens"],
                              "the bias dict is resized by position instead of remapped", remap=_bias_by_position)
RemapLosesTie = _mutant(ReferenceAdapter, "RemapLosesTie", ["remap.model_consistent"],
                        "a tied model gets an equal-valued copy as its head after the remap",
                        remap=_remap_loses_tie)


# -- embedding width --------------------------------------------------------------------------
def _random_pad(matrix, new_width, projection=None):
    out = resize_width(matrix, new_width, projection=projection)
    x = tf.convert_to_tensor(matrix)
    noise = tf.random.stateless_normal(tf.shape(out), [3, 4], stddev=0.02)
    keep = tf.range(tf.shape(out)[1]) < tf.shape(x)[1]
    return tf.where(keep, out, tf.cast(noise, out.dtype))


def _random_pad_model(self, model, new_width, projection=None):
    """Random new columns in the embeddings and random new rows/columns in the body."""
    before = int(tf.shape(model.embed.embeddings)[1])
    out = resize_model_width(model, new_width, projection=projection)
    for var in {id(v): v for v in (model.get_input_embeddings(), model.get_output_embeddings())}.values():
        var.assign(_random_pad(var.value()[:, :before], int(tf.shape(var)[1])))
    kernel = model.body.kernel
    rows = _random_pad(kernel.value()[:before, :before], int(kernel.shape[1]))
    kernel.assign(tf.transpose(_random_pad(tf.transpose(rows[:, :]), int(kernel.shape[0]))))
    return out


def _random_pad_matrix(self, matrix, new_width, projection=None):
    return _random_pad(matrix, new_width, projection)


def _last_columns(self, matrix, new_width, projection=None):
    x = tf.convert_to_tensor(matrix)
    if projection is None and x.shape[1] is not None and new_width < x.shape[1]:
        return x[:, -new_width:]
    return resize_width(matrix, new_width, projection=projection)


def _width_loses_tie(self, model, new_width, projection=None):
    out = resize_model_width(model, new_width, projection=projection)
    _untie(model)
    return out


def _width_stale_config(self, model, new_width, projection=None):
    old = model.config.hidden_size
    out = resize_model_width(model, new_width, projection=projection)
    model.config.hidden_size = old
    return out


WidthRandomPad = _mutant(
    ReferenceAdapter, "WidthRandomPad", ["width.matrix_pad_truncate", "width.pad_function_preserving"],
    "new columns random instead of zero", resize_width_matrix=_random_pad_matrix, resize_width=_random_pad_model)
WidthKeepsLastColumns = _mutant(ReferenceAdapter, "WidthKeepsLastColumns", ["width.matrix_pad_truncate"],
                                "truncation keeps the last columns", resize_width_matrix=_last_columns)
WidthIgnoresProjection = _mutant(
    ReferenceAdapter, "WidthIgnoresProjection", ["width.matrix_projection"],
    "the projection is ignored: pad/truncate to its column count",
    resize_width_matrix=lambda self, m, w, projection=None: resize_width(
        m, w if projection is None else int(np.shape(projection)[1])))
WidthLosesTie = _mutant(ReferenceAdapter, "WidthLosesTie", ["width.tie_kept"],
                        "a tied model gets an equal-valued copy as its head", resize_width=_width_loses_tie)
WidthStaleConfig = _mutant(ReferenceAdapter, "WidthStaleConfig", ["width.model_shapes_and_config"],
                           "config.hidden_size not updated", resize_width=_width_stale_config)
WidthLenient = _mutant(
    ReferenceAdapter, "WidthLenient", ["width.bad_width_rejected"], "widths coerced with int(float(w)) or 1",
    resize_width=lambda self, model, w, projection=None: resize_model_width(
        model, w if projection is not None else (abs(int(float(w))) or 1), projection=projection))


# -- recurrent cells --------------------------------------------------------------------------
def _naive_seed_copy(self, cell, new_units):
    """The naive RNN-cell growth: copy kernel[:, :old*g] etc. into a fresh cell, ignoring gate blocks."""
    gates, _ = cell_layout(cell)
    old = int(cell.units)
    config = dict(cell.get_config(), units=int(new_units))
    fresh = type(cell).from_config(config)
    fresh.build((None, int(cell.kernel.shape[0])))
    k, r, b = (v.numpy() for v in (fresh.kernel, fresh.recurrent_kernel, fresh.bias))
    ok, orr, ob = (v.numpy() for v in (cell.kernel, cell.recurrent_kernel, cell.bias))
    n = int(new_units)
    if n > old:
        k[:, :old * gates] = ok
        r[:old, :old * gates] = orr
        b[:old * gates] = ob
    else:
        k, r, b = ok[:, :n * gates], orr[:n, :n * gates], ob[:n * gates]
    for var, value in zip((fresh.kernel, fresh.recurrent_kernel, fresh.bias), (k, r, b)):
        var.assign(value)
    return fresh


def _patched_rnn(patch):
    """The reference cell resize, then ``patch(old_cell, new_cell)`` breaks one thing."""

    def resize_cell(self, cell, new_units):
        new = resize_rnn_cell(cell, new_units)
        patch(cell, new)
        return new

    return resize_cell


def _outgoing_random(cell, new):
    gates, _ = cell_layout(cell)
    u, n = int(cell.units), int(new.units)
    r = new.recurrent_kernel.numpy().reshape(n, gates, n)
    r[u:, :, :u] = np.random.default_rng(0).normal(0, 0.5, size=r[u:, :, :u].shape)
    new.recurrent_kernel.assign(r.reshape(n, gates * n))


def _candidate_random(cell, new):
    gates, candidate = cell_layout(cell)
    u, n = int(cell.units), int(new.units)
    k = new.kernel.numpy().reshape(-1, gates, n)
    k[:, candidate, u:] = np.random.default_rng(1).normal(0, 0.5, size=k[:, candidate, u:].shape)
    new.kernel.assign(k.reshape(-1, gates * n))


def _forget_zero(cell, new):
    gates, _ = cell_layout(cell)
    if gates == 4 and int(new.units) > int(cell.units):
        b = new.bias.numpy().reshape(4, -1)
        b[1, int(cell.units):] = 0.0
        new.bias.assign(b.reshape(-1))


def _default_config(self, cell, new_units):
    gates, candidate = cell_layout(cell)
    new = type(cell)(int(new_units))
    new.build((None, int(cell.kernel.shape[0])))
    merged = resize_gate_weights(cell_weights(cell), int(new_units), gates=gates, candidate=candidate,
                                 fresh=cell_weights(new))
    for name, value in merged.items():
        getattr(new, name).assign(value)
    return new


RnnNaiveSeedCopy = _mutant(
    KerasRNNAdapter, "RnnNaiveSeedCopy",
    ["rnn.grow_preserves_old_units", "rnn.new_units_stay_zero", "rnn.shrink_keeps_gate_prefix"],
    "the seed article's copy: kernel[:, :old_units*g] into a fresh cell, mixing gate blocks",
    resize_cell=_naive_seed_copy)
RnnOutgoingNotZeroed = _mutant(KerasRNNAdapter, "RnnOutgoingNotZeroed", ["rnn.grow_preserves_old_units"],
                               "recurrent weights from new units into old units' gates left random",
                               resize_cell=_patched_rnn(_outgoing_random))
RnnCandidateNotZeroed = _mutant(KerasRNNAdapter, "RnnCandidateNotZeroed", ["rnn.new_units_stay_zero"],
                                "the new units' candidate-block input weights left random",
                                resize_cell=_patched_rnn(_candidate_random))
RnnForgetBiasZero = _mutant(KerasRNNAdapter, "RnnForgetBiasZero", ["rnn.forget_bias_follows_config"],
                            "new LSTM units get forget bias 0 whatever unit_forget_bias says",
                            resize_cell=_patched_rnn(_forget_zero))
RnnDefaultConfig = _mutant(KerasRNNAdapter, "RnnDefaultConfig", ["rnn.weights_and_config"],
                           "the resized cell is built with only `units` (default reset_after, initializers...)",
                           resize_cell=_default_config)
RnnLenientUnits = _mutant(KerasRNNAdapter, "RnnLenientUnits", ["rnn.bad_units_rejected"],
                          "units coerced with int(float(u)) or 1", resize_cell=lambda self, cell, u:
                          resize_rnn_cell(cell, abs(int(float(u))) or 1))


# -- Keras 3 ReversibleEmbedding ----------------------------------------------------------------
def _reverse_wrong_axis(self, model, n):
    """Resize reverse_embeddings [H, V] on its first axis, as if it were [V, H]."""
    layer = model.embedding
    if n is None or layer.tie_weights or n == layer.input_dim:
        return model.resize_token_embeddings(n)
    reverse = layer.reverse_embeddings.value
    model.resize_token_embeddings(n)
    from reference.reversible import _replace

    _replace(layer, "reverse_embeddings", resize_matrix(reverse, n, seed=1))
    return layer.embeddings


Keras3ReverseWrongAxis = _mutant(Keras3ReversibleAdapter, "Keras3ReverseWrongAxis", ["grow.shape"],
                                 "untied reverse_embeddings [H, V] resized on its first axis",
                                 resize=_reverse_wrong_axis)

ALL = [obj for obj in list(globals().values()) if isinstance(obj, type) and getattr(obj, "kills", ())]
