"""Mutants that vacuous verdicts let pass: a must-raise check that accepted any exception, a
self-comparison of one variable, a property that held on a model where nothing happened.

Each is the reference adapter with one defect, declared as in tests/mutants.py: ``kills`` maps
each check that must report it as failed to a substring of the failure message.
"""

import numpy as np
import tensorflow as tf
from mutants import Mutant, collect

from harness.adapters.reference import ReferenceAdapter
from reference import resize_model_width
from reference.errors import NonFiniteError, ResizeError
from reference.mean_init import mean_resize_bias_dict, mean_resize_variable
from reference.model_resize import apply_resized, is_tied
from reference.validate import validate_num_tokens


def _misspelt(exc):
    return NameError(f"name 'ResizeEror' is not defined (while rejecting: {exc})")


# -- must-raise checks: the error type and the state after the raise -------------------------
class RejectionTypo(Mutant, ReferenceAdapter):
    """Invalid sizes reach a misspelt error class: the rejection raises NameError, not ValueError."""

    kills = {"bad_input.size_rejected": "raised NameError", "shrink.below_minimum_rejected": "raised NameError"}
    description = "a bad size raises NameError (misspelt error class) instead of the documented error"

    def resize(self, model, new_num_tokens):
        if new_num_tokens is not None:
            try:
                validate_num_tokens(new_num_tokens, minimum=model.config.min_vocab_size)
            except ResizeError as exc:
                raise _misspelt(exc) from None
        return super().resize(model, new_num_tokens)


class RejectsAfterRescalingBody(Mutant, ReferenceAdapter):
    """Work done before validation: the body kernel is rescaled in place, then the size is rejected."""

    kills = {"bad_input.size_rejected": "changed values after a rejected resize",
             "shrink.below_minimum_rejected": "changed values after a rejected resize"}
    description = "a rejected resize has already rescaled the body kernel in place"

    def resize(self, model, new_num_tokens):
        if new_num_tokens is not None:
            model.body.kernel.assign(model.body.kernel * 0.5)
        return super().resize(model, new_num_tokens)


class RejectsEveryResize(Mutant, ReferenceAdapter):
    """Every size is rejected with the documented error: rejecting bad sizes proves nothing."""

    kills = {"bad_input.size_rejected": "a valid resize", "shrink.below_minimum_rejected": "a valid resize"}
    description = "resize raises ResizeError for every size"

    def resize(self, model, new_num_tokens):
        if new_num_tokens is None:
            return super().resize(model, None)
        raise ResizeError(f"resize to {new_num_tokens!r} is not supported")


class IdRangeTypo(Mutant, ReferenceAdapter):
    """The forward's id range check raises NameError (misspelt error class), not InvalidArgumentError."""

    kills = {"ids.out_of_range_rejected": "raised NameError"}
    description = "an out-of-range id raises NameError instead of InvalidArgumentError"

    def call(self, model, ids):
        if tf.executing_eagerly():
            rows = self.read_input_matrix(model).shape[0]
            values = np.asarray(ids)
            if (values < 0).any() or (values >= rows).any():
                raise NameError("name 'IdError' is not defined")
        return model(ids)


class ForwardRejectsAfterResize(Mutant, ReferenceAdapter):
    """After a resize the lookup bound is an unset cached size (0): every id is rejected."""

    kills = {"ids.out_of_range_rejected": "forward on in-range ids"}
    description = "after any resize the forward rejects every id"

    def resize(self, model, new_num_tokens):
        out = super().resize(model, new_num_tokens)
        model._stale_bound = 0
        return out

    def call(self, model, ids):
        if getattr(model, "_stale_bound", None) is not None:
            check = tf.debugging.assert_less(ids, tf.constant(model._stale_bound, ids.dtype),
                                             message="token id >= vocabulary size")
            with tf.control_dependencies([check]):
                ids = tf.identity(ids)
        return model(ids)


class GrowIgnoredForIds(Mutant, ReferenceAdapter):
    """Growing is silently a no-op (shrinking works): ids >= the old size still raise after a grow."""

    kills = {"ids.out_of_range_rejected": "forward on in-range ids"}
    description = "a growing resize does nothing"

    def resize(self, model, new_num_tokens):
        if new_num_tokens is not None and new_num_tokens > self.read_input_matrix(model).shape[0]:
            return model.get_input_embeddings()
        return super().resize(model, new_num_tokens)


class NonFiniteTypo(Mutant, ReferenceAdapter):
    """NaN/Inf in kept rows reaches a misspelt error class: NameError instead of NonFiniteError."""

    kills = {"matrix.nonfinite_not_laundered": "raised NameError"}
    description = "a non-finite kept row raises NameError instead of NonFiniteError"

    def resize_matrix(self, matrix, new_num_tokens):
        try:
            return super().resize_matrix(matrix, new_num_tokens)
        except NonFiniteError as exc:
            raise _misspelt(exc) from None


class RejectsEveryMatrix(Mutant, ReferenceAdapter):
    """Every matrix is rejected as non-finite: rejecting a NaN proves nothing."""

    kills = {"matrix.nonfinite_not_laundered": "resize_matrix of the finite copy raised"}
    description = "resize_matrix raises NonFiniteError for every matrix"

    def resize_matrix(self, matrix, new_num_tokens):
        raise NonFiniteError("matrix holds NaN or Inf")


class ScrubsNaNBeforeRejecting(Mutant, ReferenceAdapter):
    """Replaces NaN/Inf by 0 in the caller's variable, then rejects it: the source is corrupted."""

    kills = {"matrix.nonfinite_not_laundered": "the source matrix after the rejected resize_matrix"}
    description = "resize_matrix zeroes NaN/Inf in the source variable in place, then raises"

    def resize_matrix(self, matrix, new_num_tokens):
        if isinstance(matrix, tf.Variable):
            x = matrix.value()
            matrix.assign(tf.where(tf.math.is_finite(x), x, tf.zeros_like(x)))
            if not np.isfinite(x.numpy()).all():
                raise NonFiniteError("matrix holds NaN or Inf")
        return super().resize_matrix(matrix, new_num_tokens)


# -- mean resizing: row count and covariance scale ----------------------------------------------
def _mean_resize(model, n, seed, covariance_scale):
    """The reference mean-resize with another covariance scale."""
    old_in, old_out, bias = model.get_input_embeddings(), model.get_output_embeddings(), model.get_bias()
    tied = is_tied(model)
    new_in = mean_resize_variable(old_in, n, seed=seed, covariance_scale=covariance_scale)
    new_out = None if tied or old_out is None else \
        mean_resize_variable(old_out, n, seed=seed + 1, covariance_scale=covariance_scale)
    new_bias = mean_resize_bias_dict(bias, n) if bias else None
    return apply_resized(model, n, new_in, new_out, new_bias, tied=tied)


class MeanExtraRow(Mutant, ReferenceAdapter):
    """Mean-resizing grows to n + 1 rows (and bias entries) while the config says n."""

    kills = {"mean_init.new_rows_near_mean": "after the mean-resize: shape",
             "mean_init.sampled_not_constant": "after the mean-resize: shape",
             "mean_init.fallback_is_mean": "after the mean-resize: shape",
             "mean_init.deterministic_under_seed": "after the mean-resize: shape",
             "mean_init.bias_mean": "after the mean-resize: shape"}
    description = "mean-resize to n gives n + 1 rows"

    def resize_mean(self, model, new_num_tokens, seed):
        out = model.resize_token_embeddings(new_num_tokens + 1, mean_resizing=True, seed=seed)
        model.config.vocab_size = new_num_tokens
        model.set_cached_vocab_size(new_num_tokens)
        return out


class MeanCovarianceUnscaled(Mutant, ReferenceAdapter):
    """New rows from N(mu, S): the covariance scale (1e-9 in the spec) is forgotten."""

    kills = {"mean_init.new_rows_near_mean": "the noise is not the old rows' covariance scaled by 1e-09"}
    description = "mean-resize samples with covariance_scale=1 instead of 1e-9"

    def resize_mean(self, model, new_num_tokens, seed):
        return _mean_resize(model, new_num_tokens, seed, 1.0)


class MeanCovarianceTooSmall(Mutant, ReferenceAdapter):
    """New rows from N(mu, 1e-11 S): the noise is 10x narrower than the spec's (rows still distinct)."""

    kills = {"mean_init.new_rows_near_mean": "new rows' covariance is"}
    description = "mean-resize samples with covariance_scale=1e-11 instead of 1e-9"

    def resize_mean(self, model, new_num_tokens, seed):
        return _mean_resize(model, new_num_tokens, seed, 1e-11)


# -- ties: the head must read the input matrix -------------------------------------------------
def _freeze_head(model):
    """The LM head computes with a constant copy of the input embeddings from now on."""
    head, copy = model.head, tf.constant(model.embed.embeddings.value())
    call = type(head).call
    head.call = lambda hidden, input_embeddings: call(head, hidden, copy)


class HeadReadsStaleCopy(Mutant, ReferenceAdapter):
    """After a resize the tied head computes with a constant copy of the embeddings taken at resize
    time, while the model still reports the input variable as its output embeddings."""

    kills = {"tied.still_tied": "the tied head does not read the input matrix",
             "tied.tie_survives_training": "was not updated by the train step",
             "width.tie_kept": "the tied head does not read the input matrix"}
    description = "a tied head reads a stale copy of the embeddings after resize"

    def resize(self, model, new_num_tokens):
        out = super().resize(model, new_num_tokens)
        if model.head.tied:
            _freeze_head(model)
        return out

    def resize_width(self, model, new_width, projection=None):
        out = super().resize_width(model, new_width, projection)
        if model.head.tied:
            _freeze_head(model)
        return out


# -- width -------------------------------------------------------------------------------------
class WidthRejectionTypo(Mutant, ReferenceAdapter):
    """A bad width or projection reaches a misspelt error class: NameError, not ValueError."""

    kills = {"width.bad_width_rejected": "raised NameError", "width.matrix_projection": "raised NameError"}
    description = "a bad width raises NameError instead of the documented error"

    def resize_width(self, model, new_width, projection=None):
        try:
            return super().resize_width(model, new_width, projection)
        except ResizeError as exc:
            raise _misspelt(exc) from None

    def resize_width_matrix(self, matrix, new_width, projection=None):
        try:
            return super().resize_width_matrix(matrix, new_width, projection)
        except ResizeError as exc:
            raise _misspelt(exc) from None


class WidthRejectsAfterRescalingBody(Mutant, ReferenceAdapter):
    """Work done before validation: the body kernel is rescaled in place, then the width is rejected."""

    kills = {"width.bad_width_rejected": "changed values after a rejected width resize"}
    description = "a rejected width resize has already rescaled the body kernel in place"

    def resize_width(self, model, new_width, projection=None):
        model.body.kernel.assign(model.body.kernel * 0.5)
        return super().resize_width(model, new_width, projection)


class WidthRejectsEverything(Mutant, ReferenceAdapter):
    """Every model width resize is rejected with the documented error."""

    kills = {"width.bad_width_rejected": "a valid width resize"}
    description = "resize_width raises ResizeError for every width"

    def resize_width(self, model, new_width, projection=None):
        raise ResizeError(f"width resize to {new_width!r} is not supported")


class WidthPadIgnored(Mutant, ReferenceAdapter):
    """A widening model resize without a projection does nothing (logits trivially unchanged)."""

    kills = {"width.pad_function_preserving": "input matrix after the width resize: shape"}
    description = "resize_width pads nothing"

    def resize_width(self, model, new_width, projection=None):
        if projection is None and new_width > self.read_input_matrix(model).shape[1]:
            return model.get_input_embeddings()
        return super().resize_width(model, new_width, projection)


class WidthTiedPadsOnes(Mutant, ReferenceAdapter):
    """A tied model's new columns are ones instead of zeros (input and head stay one variable)."""

    kills = {"width.tie_kept": "before the width resize"}
    description = "widening a tied model fills the new columns with ones"

    def resize_width(self, model, new_width, projection=None):
        old = self.read_input_matrix(model).shape[1]
        out = resize_model_width(model, new_width, projection=projection)
        if model.head.tied and projection is None and new_width > old:
            emb = model.embed.embeddings
            emb.assign(tf.concat([emb[:, :old], tf.ones_like(emb[:, old:])], 1))
        return out


ALL = collect(globals())
