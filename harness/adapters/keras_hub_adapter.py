"""Adapter over a keras-hub task class (Keras 3, TensorFlow backend): ``KerasHubAdapter("GPT2CausalLM")``.

Models are tiny tasks built from constructor arguments (harness/adapters/keras_hub_models.py, no
presets), with token embeddings ``ModelSpec.width`` wide. A width the architecture cannot have (1: a
normalised one-feature hidden state is constant; 3 under rotary embeddings with derived head sizes) rejects a
property example (hypothesis draws another); a fixed case gets the next width the class can have.
keras-hub has no resize of its own: ``resize`` is ``keras_hub_resize.resize_token_embeddings``.
The forward feeds every input the task declares (``*token_ids`` the ids, ``*padding_mask`` ones,
``segment_ids`` zeros, ``mask_positions`` every position, ``position_ids`` ``0..T-1``, ``response_mask``
zeros, ``images`` a black image) and returns
its ``[B, T, V]`` logits; a task that cannot be called on its inputs has a driver
(``keras_hub_models.DRIVERS``: the Gemma 4 drafter). Read-back goes to the variables ``keras_hub_resize.find`` reports (the
input matrix, an untied head transposed from ``[H, V]``, the bias), never through the model's code.
Checkpoint formats: ``keras`` (``model.save`` / ``keras.models.load_model``) and ``preset``
(``save_to_preset`` / ``<Task>.from_preset`` on a local directory).

A layout that keeps special tokens last (``keras_hub_resize.find(...).specials``: PARSeq's ``[B]`` and
``[P]``, which its head does not predict) is driven in the ids its head predicts: a spec of ``K`` tokens
builds ``K + specials``, a resize to ``K`` is one to ``K + specials`` (the minimum too), the input
matrix read and written is its first ``K`` rows, the config and cached sizes are reported less the
specials, and forward ids ``>= K`` are shifted past the specials (id ``K`` is out of the model's range,
as for any other class); ``tests/test_keras_hub.py`` checks the special rows themselves.

This module imports Keras 3 and keras-hub only (never transformers), and does not set
``TF_USE_LEGACY_KERAS``.
"""

import json
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np
import tensorflow as tf

from harness.adapter import Adapter, Capabilities, sgd_step_on_own_ids
from harness.adapters import keras_hub_models as km
from harness.adapters.keras_hub_models import NotBuildable, Unsupported  # noqa: F401 - re-exported

BUILD_SEED = 1234
PROBE_VOCAB = 11
FLAGS = frozenset({"output_embeddings", "shrink", "save_load", "train", "graph_forward", "matrix_resize",
                   "assign_weights", "min_vocab_size", "cached_vocab_sizes", "pad_to_multiple_of",
                   "mean_resizing", "dtype_policy", "rejects_out_of_range_ids"})


def _keras():
    import keras

    if keras.backend.backend() != "tensorflow":
        raise ImportError(f"the keras_hub adapter needs KERAS_BACKEND=tensorflow, not {keras.backend.backend()!r}")
    return keras


def _resize():
    import keras_hub_resize

    return keras_hub_resize


def task_inputs(model, ids):
    """The task's input dict for int ids ``[B, T]`` (tensors; traceable)."""
    ids = tf.convert_to_tensor(ids, tf.int32)
    shape = tf.shape(ids)
    out = {}
    for spec in model.inputs:
        name = spec.name
        if name.endswith("token_ids"):
            out[name] = ids
        elif name.endswith("padding_mask"):
            out[name] = tf.ones_like(ids, dtype=tf.bool) if "bool" in str(spec.dtype) else tf.ones_like(ids)
        elif name in ("segment_ids",):
            out[name] = tf.zeros_like(ids)
        elif name in ("mask_positions", "position_ids"):
            out[name] = tf.tile(tf.range(shape[1])[tf.newaxis], [shape[0], 1])
        elif name == "response_mask":  # PaliGemma: every text token is prefix (attends both ways)
            out[name] = tf.zeros_like(ids)
        elif name == "images":  # a black image of the task's fixed size
            out[name] = tf.zeros(tf.concat([shape[:1], [int(d) for d in spec.shape[1:]]], 0), spec.dtype)
        else:
            raise NotBuildable(f"{type(model).__name__}: no input maker for input {name!r}")
    return out


class KerasHubAdapter(Adapter):
    """Drive ``keras_hub.models.<class_name>`` through the conformance checks."""

    graph_autograph = True  # resize_matrix (reference.matrix) needs autograph under unknown dims
    shrink_failures = False

    def __init__(self, class_name):
        _keras()
        if not km.is_task_class(class_name):
            raise ValueError(f"{class_name!r} is not a keras_hub task class ending in CausalLM/MaskedLM/Seq2SeqLM "
                             "(see harness.adapters.keras_hub_models.class_names())")
        self.class_name = class_name
        self.name = f"keras_hub/{class_name}"
        self._caps = None
        self._specials = 0

    def property_examples(self, profile):
        return {"dev": 2, "ci": 3}.get(profile, 25)

    # -- capabilities: probed from a tiny build ------------------------------------------------
    def _probe_tie(self, tie):
        model = km.build_task(self.class_name, PROBE_VOCAB, tie=tie)
        parts = _resize().find(model)
        self.forward(model, np.array([[1, 2, 3]], np.int32))
        return parts

    def capabilities(self):
        if self._caps is None:
            modes = km.tie_modes(self.class_name)
            parts = self._probe_tie(None)  # raises Unsupported / NotBuildable / the library's error
            self._specials = parts.specials
            bias = "vector" if any(a.role == "bias" for a in parts.axes) else "none"
            if modes is None:
                modes = ("tied",) if parts.tied() else ("untied",)
            self._caps = Capabilities(tie_modes=frozenset(modes), bias_layouts=frozenset({bias}),
                                      dtypes=frozenset({"float32", "float16", "bfloat16"}), flags=FLAGS,
                                      formats=frozenset({"keras", "preset"}))
        return self._caps

    def describe(self):
        d = super().describe()
        d["model_class"] = self.class_name
        try:
            import keras_hub

            d["keras_hub"] = keras_hub.__version__
            d["keras"] = _keras().__version__
        except Exception:  # noqa: BLE001 - describe never fails
            pass
        return d

    # -- building / resizing -------------------------------------------------------------
    def build(self, spec):
        keras = _keras()
        self.capabilities()  # the layout's specials
        tie = {"tied": True, "untied": False}[spec.tie] if km.tie_modes(self.class_name) else None
        keras.utils.set_random_seed(BUILD_SEED)
        model = km.build_task(self.class_name, spec.vocab_size + self._specials, tie=tie, dtype=spec.dtype, width=spec.width,
                              nearest=True)  # ModelSpec.width is a hint: the next width the class can have
        model._conformance_min_vocab = int(spec.min_vocab_size)
        keras.utils.set_random_seed(int(spec.seed) % (2**31 - 1) + 1)
        return model

    def _min(self, model):
        return getattr(model, "_conformance_min_vocab", 1)

    def _full(self, n):
        """A size in the head's ids as the model's size (bad values pass unchanged, to be rejected)."""
        ok = isinstance(n, (int, np.integer)) and not isinstance(n, (bool, np.bool_))
        return n + self._specials if ok else n

    def resize(self, model, new_num_tokens, **kwargs):
        return _resize().resize_token_embeddings(model, self._full(new_num_tokens),
                                                 min_num_tokens=self._min(model) + self._specials, **kwargs)

    def resize_under_default_policy(self, model, new_num_tokens):
        keras = _keras()
        old = keras.config.dtype_policy()
        keras.config.set_dtype_policy("float32")
        try:
            return self.resize(model, new_num_tokens)
        finally:
            keras.config.set_dtype_policy(old)

    def resize_padded(self, model, new_num_tokens, pad_to_multiple_of):
        return self.resize(model, new_num_tokens, pad_to_multiple_of=pad_to_multiple_of)

    def resize_mean(self, model, new_num_tokens, seed):
        return self.resize(model, new_num_tokens, mean_resizing=True, seed=seed)

    def resize_matrix(self, matrix, new_num_tokens):
        from reference import resize_matrix

        return resize_matrix(matrix, new_num_tokens, seed=0)

    def call(self, model, ids):
        if self._specials:  # ids past the head's K skip the special ids (module docstring)
            ids = tf.convert_to_tensor(ids, tf.int32)
            k = self._parts(model).size - self._specials
            ids = tf.where(ids >= k, ids + self._specials, ids)
        drive = km.DRIVERS.get(self.class_name)
        out = drive(model, ids) if drive else model(task_inputs(model, ids), training=False)
        return out[0] if isinstance(out, (list, tuple)) else out

    # -- read-back --------------------------------------------------------------------------
    def _parts(self, model):
        return _resize().find(model)

    def handles(self, model):
        parts = self._parts(model)
        h = {"input": parts.input}  # of an encoder-decoder with two token tables, the decoder's
        outputs = [a for a in parts.axes if a.role == "output"]
        h["output"] = outputs[0].variable if outputs else h["input"]
        for a in parts.axes:
            if a.role == "bias":
                h["bias:" + a.layer.name] = a.variable
        return h

    def read_input_matrix(self, model):
        rows = self.handles(model)["input"].numpy()
        return rows[:rows.shape[0] - self._specials]

    def read_output_matrix(self, model):
        h = self.handles(model)
        out = h["output"]
        if out is h["input"]:
            return self.read_input_matrix(model)
        return out.numpy().T  # untied heads are [H, V]

    def read_config_vocab_size(self, model):
        return _resize().vocabulary_size(model) - self._specials

    def read_cached_vocab_sizes(self, model):
        """Each cached copy as the vocabulary size it implies (a head's ``units`` less its offset)."""
        return {f"{obj.name}.{attr}": int(getattr(obj, attr)) - offset - self._specials
                for obj, attr, offset in self._parts(model).cached}

    def variable_shapes(self, model):
        return [(v.path, tuple(int(d) for d in v.shape)) for v in model.weights]

    def variable_values(self, model):
        out = {}
        for v in model.weights:
            name, k = v.path, 1
            while name in out:
                k += 1
                name = f"{v.path}#{k}"
            out[name] = np.asarray(v.numpy())
        return out

    def read_config(self, model):
        """The backbone's config as the JSON a ``.keras`` file or preset stores (tuples are lists there:
        a sub-model's ``image_size=(16, 16)`` reloads as ``[16, 16]``, the same configuration)."""
        return {"backbone": json.loads(json.dumps(model.backbone.get_config(), default=str))}

    @property
    def resize_errors(self):
        return (ValueError, TypeError, tf.errors.InvalidArgumentError)

    def assign(self, model, which, values):
        h = self.handles(model)
        target = h[which]
        values = np.asarray(values)
        if which == "output" and target is not h["input"]:
            values = values.T
        elif self._specials and values.ndim == 2 and values.shape[0] == int(target.shape[0]) - self._specials:
            # the first K rows of a table with special rows last: those stay as they are
            values = np.concatenate([values, target.numpy()[values.shape[0]:]]).astype(values.dtype)
        if tuple(values.shape) != tuple(target.shape):
            note = getattr(model, "_conformance_width_note", None)
            why = f" (built {note[1]} wide, not {note[0]}: {note[2]})" if note else ""
            raise ValueError(f"{self.class_name}: cannot write a {list(values.shape)} array into {which} "
                             f"{list(target.shape)}{why}")
        target.assign(tf.cast(values, target.dtype))

    # -- save / load ------------------------------------------------------------------------
    def save(self, model, path, fmt="keras"):
        if fmt == "keras":
            model.save(os.path.join(path, "model.keras"))
        elif fmt == "preset":
            model.save_to_preset(os.path.join(path, "preset"))
        else:
            raise ValueError(f"unknown format {fmt!r}")
        with open(os.path.join(path, "conformance.txt"), "w", encoding="utf-8") as f:
            f.write(f"{self._min(model)} {model.backbone.dtype_policy.name}")

    def load(self, path, fmt="keras"):
        """``from_preset`` converts float weights to the global dtype policy unless given ``dtype``
        (keras_hub/src/utils/preset_utils.py ``KerasPresetLoader._resolve_dtype``, documented): the
        preset is loaded with the dtype it was saved in, as a user who saved it would."""
        import keras_hub

        with open(os.path.join(path, "conformance.txt"), encoding="utf-8") as f:
            min_vocab, dtype = f.read().split()
        if fmt == "keras":
            model = _keras().models.load_model(os.path.join(path, "model.keras"))
        else:
            model = getattr(keras_hub.models, self.class_name).from_preset(os.path.join(path, "preset"), dtype=dtype)
        model._conformance_min_vocab = int(min_vocab)
        return model

    def train_step(self, model, ids, lr=0.5):
        return sgd_step_on_own_ids(self.call, model, ids, lr)
