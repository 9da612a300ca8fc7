"""Mutants for save/load (every format, every variable, the loading report) and dtypes.

Each is the reference adapter with one defect, declared as in tests/mutants.py: ``kills`` maps
each check that must report it as failed to a substring of the failure message.
"""

import contextlib
import dataclasses

import tensorflow as tf
from mutants import Mutant, collect

from harness.adapters.reference import ReferenceAdapter
from reference.causal_lm import ReferenceCausalLM


def _replace(layer, attr, value, name, trainable):
    """Swap a tracked variable attribute of ``layer`` for a new variable."""
    setattr(layer, attr, tf.Variable(value, name=name, trainable=trainable))


# -- save/load -----------------------------------------------------------------------------
class LoadZeroesBodyBias(Mutant, ReferenceAdapter):
    kills = {"saveload.roundtrip_weights": "values of variable 'reference_lm/body/bias:0'"}
    description = "load resets a weight outside the embeddings and the head (the body's bias) to zero"

    def load(self, path):
        model = super().load(path)
        model.body.bias.assign(tf.zeros_like(model.body.bias))
        return model


class LoadRenamesBias(Mutant, ReferenceAdapter):
    kills = {"saveload.roundtrip_weights": "came back renamed as"}
    description = "the loaded model holds the LM-head bias (right values) under another variable name"

    def load(self, path):
        model = super().load(path)
        for key, var in (model.get_bias() or {}).items():
            _replace(model.head, key, var.value(), f"lm_head/renamed_{key}", var.trainable)
        return model


class LoadLosesFinalLogitsBias(Mutant, ReferenceAdapter):
    kills = {"saveload.roundtrip_weights": "variables are not the saved model's: 1 missing"}
    description = "the loaded model lacks the final_logits_bias entry (a weight the load never created)"

    def load(self, path):
        model = super().load(path)
        if "final_logits_bias" in model.head.bias_names:
            delattr(model.head, "final_logits_bias")
            model.head.bias_names.remove("final_logits_bias")
        return model


class LoadReportsUnexpected(Mutant, ReferenceAdapter):
    kills = {"saveload.roundtrip_weights": "loading report is not clean: 1 unexpected"}
    description = "the library's loading report lists a checkpoint weight it did not use"

    def load_report(self, path, fmt="default"):
        model, report = super().load_report(path, fmt)
        return model, dict(report, unexpected=["lm_head/stale_bias:0"])


class SafetensorsDropsBias(Mutant, ReferenceAdapter):
    """Two formats; only the second loses the bias values: the suite must run every format."""

    kills = {"saveload.roundtrip_weights": "load (safetensors): values of variable"}
    description = "the 'safetensors' format loads the LM-head bias as zeros (the default format is fine)"

    def capabilities(self):
        return dataclasses.replace(super().capabilities(), formats=frozenset({"default", "safetensors"}))

    def save(self, model, path, fmt="default"):
        return super().save(model, path)

    def load(self, path, fmt="default"):
        model = super().load(path)
        if fmt == "safetensors":
            for var in (model.get_bias() or {}).values():
                var.assign(tf.zeros_like(var))
        return model

    def load_report(self, path, fmt="default"):
        return self.load(path, fmt), {"missing": [], "unexpected": [], "mismatched": []}


class LoadUpcastsToFloat32(Mutant, ReferenceAdapter):
    kills = {"dtype.saveload_keeps_dtype": "has dtype float32, saved as"}
    description = "a float16/bfloat16 checkpoint loads into a float32 model (same values)"

    def load(self, path):
        model = super().load(path)
        if model.config.dtype == "float32":
            return model
        wide = ReferenceCausalLM(dataclasses.replace(model.config, dtype="float32"))
        for dst, src in zip(wide.variables, model.variables):
            dst.assign(tf.cast(src, tf.float32))
        return wide


# -- dtypes --------------------------------------------------------------------------------
class ResizeUpcastsBias(Mutant, ReferenceAdapter):
    kills = {"dtype.variables_keep_dtype": "is float32, expected"}
    description = "the resized LM-head bias is created as float32 (like an add_weight without dtype)"

    def resize(self, model, n):
        out = super().resize(model, n)
        for key, var in (model.get_bias() or {}).items():
            _replace(model.head, key, tf.cast(var, tf.float32), var.name.split(":")[0], var.trainable)
        return out


class ResizeRaisesInHalfPrecision(Mutant, ReferenceAdapter):
    kills = {"dtype.variables_keep_dtype": "raised InvalidArgumentError",
             "dtype.forward_keeps_dtype": "raised InvalidArgumentError"}
    description = "resize mixes a float32 new matrix into a half-precision one (transformers' dtype=tf.float32)"

    def resize(self, model, n):
        old = model.get_input_embeddings()
        if old.dtype != tf.float32:
            tf.where(tf.ones(tf.shape(old), tf.bool), old, tf.zeros(tf.shape(old), tf.float32))  # raises
        return super().resize(model, n)


class ForwardUpcastsAfterResize(Mutant, ReferenceAdapter):
    kills = {"dtype.forward_keeps_dtype": "logits are float32 after the resize"}
    description = "after a resize the head computes in float32"

    def resize(self, model, n):
        model._resized = True
        return super().resize(model, n)

    def call(self, model, ids):
        logits = super().call(model, ids)
        return tf.cast(logits, tf.float32) if getattr(model, "_resized", False) else logits


@contextlib.contextmanager
def _policy(dtype):
    mp = tf.keras.mixed_precision
    old = mp.global_policy()
    mp.set_global_policy(dtype)
    try:
        yield
    finally:
        mp.set_global_policy(old)


class PolicyReference(ReferenceAdapter):
    """The reference driven like a Keras-policy library: resizes run under the model's dtype policy,
    ``resize_under_default_policy`` under float32. Correct: it passes dtype.resize_ignores_global_policy."""

    name = "reference-under-policy"

    def capabilities(self):
        caps = super().capabilities()
        return dataclasses.replace(caps, flags=caps.flags | {"dtype_policy"})

    def _resize(self, model, n):
        return super().resize(model, n)

    def resize(self, model, n):
        with _policy(model.config.dtype):
            return self._resize(model, n)

    def resize_under_default_policy(self, model, n):
        with _policy("float32"):
            return self._resize(model, n)


class NewMatrixTakesGlobalPolicy(Mutant, PolicyReference):
    kills = {"dtype.resize_ignores_global_policy": "is float32, expected"}
    description = ("the new input matrix takes the global policy's dtype, not the old matrix's "
                   "(transformers' _v2_get_resized_embeddings builds a keras Embedding without dtype)")

    def _resize(self, model, n):
        out = super()._resize(model, n)
        var = model.get_input_embeddings()
        dtype = tf.keras.mixed_precision.global_policy().variable_dtype
        if var.dtype.name != dtype:
            model.set_input_embeddings(tf.Variable(tf.cast(var, dtype), name=var.name.split(":")[0]))
        return out


ALL = collect(globals())
