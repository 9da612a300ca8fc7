"""The adapter protocol: everything the checks need from a model, and nothing more.

An adapter builds models from a ``ModelSpec``, resizes them through the model's
own code, and reads the result back as NumPy *without* going through that code
(variables themselves, not getters that could lie). Capabilities say what the
model can do; a check or parameter set the model cannot do is ``not_applicable``.
"""

import dataclasses
from typing import Any

import numpy as np

TIE_MODES = ("tied", "untied")
BIAS_LAYOUTS = ("none", "vector", "row", "multi")
DTYPES = ("float32", "float16", "bfloat16")

# Capability flags a check can require (``requires=(...)``).
FLAGS = (
    "output_embeddings",   # has an LM head / output matrix at all
    "shrink",              # may resize below the current size
    "save_load",           # save() and load() round-trip
    "train",               # train_step()
    "graph_forward",       # call() traces inside tf.function with unknown dims
    "matrix_resize",       # resize_matrix() on a bare matrix
    "assign_weights",      # assign() writes a weight's values
    "min_vocab_size",      # enforces ModelSpec.min_vocab_size on shrink
    "rejects_out_of_range_ids",  # forward raises on ids outside [0, V)
    "cached_vocab_sizes",  # read_cached_vocab_sizes() reports per-layer copies
    "pad_to_multiple_of",  # resize_padded(): resize rounding the size up to a multiple
    "mean_resizing",       # resize_mean(): new rows/bias from the old rows' statistics
    "vocab_remap",         # remap() / remap_matrix(): warm start from an old to a new vocabulary
    "width_resize",        # resize_width() / resize_width_matrix() / read_config_width(): hidden size
    "rnn_cells",           # build_cell() / resize_cell() / run_cell() / cell_weights() / cell_config()
    "load_matrix",         # build() honours spec.width and load_weights() writes given arrays (golden files)
    "reference_rng",       # new rows drawn like the reference's seeded RNG: resize_matrix() like
                           # reference.resize_matrix(m, n, seed=0), resize_seeded() (golden files)
    "dtype_policy",        # a non-float32 build runs under a global dtype policy (Keras); resize_under_default_policy()
    "keras_logits",        # a tf-keras Model whose first output is call()'s logits: held.keras_* (held_runners)
)


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """What to build. ``width`` is a hint an adapter with a fixed width may ignore."""

    vocab_size: int
    tie: str = "tied"
    bias: str = "none"
    dtype: str = "float32"
    width: int = 8
    seed: int = 0
    min_vocab_size: int = 1


@dataclasses.dataclass(frozen=True)
class Capabilities:
    tie_modes: frozenset = frozenset(TIE_MODES)
    bias_layouts: frozenset = frozenset({"none"})
    dtypes: frozenset = frozenset({"float32"})
    flags: frozenset = frozenset()
    formats: frozenset = frozenset({"default"})  # checkpoint formats save()/load() offer (``fmt``)

    def has(self, flag):
        if flag not in FLAGS:
            raise KeyError(f"unknown capability flag {flag!r}; known: {FLAGS}")
        return flag in self.flags

    def to_dict(self):
        return {
            "tie_modes": sorted(self.tie_modes),
            "bias_layouts": sorted(self.bias_layouts),
            "dtypes": sorted(self.dtypes),
            "flags": sorted(self.flags),
            "formats": sorted(self.formats),
        }


class Adapter:
    """Base class; subclasses implement the methods their capabilities promise."""

    name = "adapter"
    # Traced checks wrap call() in tf.function(autograph=graph_autograph). An adapter whose
    # forward is known to trace without autograph's source conversion may set False (faster).
    graph_autograph = True

    def capabilities(self) -> Capabilities:
        raise NotImplementedError

    # -- building and resizing (through the model's own code) ------------------
    def build(self, spec: ModelSpec) -> Any:
        raise NotImplementedError

    def resize(self, model, new_num_tokens):
        """Call the model's resize; returns whatever it returns."""
        raise NotImplementedError

    def recycle(self, model):
        """The case that built ``model`` is over: the adapter may reuse it for a later ``build``
        (restored to its just-built state). Optional; the default drops it."""

    # Shrink a failing property case to a minimal example. Each shrink step builds and resizes
    # a model; adapters over real models may set False and report the first failing example.
    shrink_failures = True

    def property_examples(self, profile):
        """Cap on hypothesis examples per property case for this adapter (None: the profile's).
        Adapters over expensive real models keep examples few and cheap."""
        return None

    def call(self, model, ids):
        """Logits for int ids ``[B, T]`` as a tf tensor; must be traceable for graph_forward."""
        raise NotImplementedError

    def forward(self, model, ids) -> np.ndarray:
        import tensorflow as tf

        out = self.call(model, tf.convert_to_tensor(np.asarray(ids, dtype=np.int32)))
        return np.asarray(tf.cast(out, tf.float32))

    # -- read-back (bypassing the model's resize code) -------------------------
    def handles(self, model) -> dict:
        """Live weight objects: ``input``, ``output`` (or absent), ``bias:<key>``."""
        raise NotImplementedError

    def read_input_matrix(self, model) -> np.ndarray:
        return _to_numpy(self.handles(model)["input"])

    def read_output_matrix(self, model):
        h = self.handles(model).get("output")
        return None if h is None else _to_numpy(h)

    def read_bias(self, model):
        h = self.handles(model)
        bias = {k[5:]: _to_numpy(v) for k, v in h.items() if k.startswith("bias:")}
        return bias or None

    def read_bias_info(self, model) -> dict:
        h = self.handles(model)
        return {
            k[5:]: {"name": getattr(v, "name", None), "trainable": bool(getattr(v, "trainable", True)),
                    "dtype": _dtype_name(v)}
            for k, v in h.items() if k.startswith("bias:")
        }

    def read_config_vocab_size(self, model) -> int:
        raise NotImplementedError

    def read_cached_vocab_sizes(self, model) -> dict:
        return {}

    def initializer_range(self, model):
        """Stddev of the truncated normal used for new rows, if the model has one."""
        return None

    def is_tied(self, model) -> bool:
        """Tied means the same object, never equal values."""
        h = self.handles(model)
        return h.get("output") is not None and h["output"] is h["input"]

    def variable_shapes(self, model) -> list:
        """``[(name, shape), ...]`` of every variable the model tracks."""
        raise NotImplementedError

    # -- optional capabilities --------------------------------------------------
    def save(self, model, path):
        raise NotImplementedError

    def load(self, path):
        raise NotImplementedError

    def train_step(self, model, ids) -> float:
        raise NotImplementedError

    def resize_matrix(self, matrix, new_num_tokens):
        raise NotImplementedError

    def assign(self, model, which, values):
        """Write ``values`` into weight ``which`` (``input``, ``output``, ``bias:<key>``)."""
        raise NotImplementedError

    def load_weights(self, model, weights):
        """Write stored arrays ``{"input"|"output"|"bias:<key>": ndarray}`` into the live weights of
        a model built with matching shapes (capability ``load_matrix``)."""
        raise NotImplementedError

    def resize_seeded(self, model, new_num_tokens, seed):
        """``resize()`` drawing new rows from the reference's stateless RNG with ``seed`` (input rows
        ``seed``, an untied output ``seed + 1``), as ``reference.resize_token_embeddings(model, n,
        seed=seed)`` does (capability ``reference_rng``)."""
        raise NotImplementedError

    # -- more resize operations (suites pad, mean_init, remap, width, rnn) ------
    def resize_padded(self, model, new_num_tokens, pad_to_multiple_of):
        """Resize rounding up to a multiple (``new_num_tokens=None`` pads the current size)."""
        raise NotImplementedError

    def resize_mean(self, model, new_num_tokens, seed):
        """Resize with mean-resizing initialisation, seeded (capability ``mean_resizing``)."""
        raise NotImplementedError

    def remap(self, model, old_vocab, new_vocab, initializer=None):
        """Warm-start the model from ``old_vocab`` rows to ``new_vocab`` rows (``vocab_remap``)."""
        raise NotImplementedError

    def remap_matrix(self, old_vocab, new_vocab, matrix, initializer=None):
        """Matrix-level remap; ``initializer(shape, dtype)`` fills rows of new tokens (``vocab_remap``)."""
        raise NotImplementedError

    def resize_width(self, model, new_width, projection=None):
        """Change the embedding width (hidden size) of the model (``width_resize``)."""
        raise NotImplementedError

    def resize_width_matrix(self, matrix, new_width, projection=None):
        """``[V, H] -> [V, new_width]``: zero-pad, truncate, or ``matrix @ projection``."""
        raise NotImplementedError

    def read_config_width(self, model) -> int:
        raise NotImplementedError

    def build_cell(self, spec: dict):
        """A built RNN cell for ``{"cell", "units", "input_dim", "seed"}`` (``rnn_cells``)."""
        raise NotImplementedError

    def resize_cell(self, cell, new_units):
        """The cell resized to ``new_units`` (a new or the same object)."""
        raise NotImplementedError

    def run_cell(self, cell, inputs, states) -> np.ndarray:
        """Outputs ``[B, T, units]`` of the cell over ``inputs [B, T, D]`` from ``states`` (list)."""
        raise NotImplementedError

    def cell_weights(self, cell) -> dict:
        """``{"kernel", "recurrent_kernel"[, "bias"]}`` as NumPy, read from the variables."""
        raise NotImplementedError

    def cell_config(self, cell) -> dict:
        raise NotImplementedError

    def describe(self) -> dict:
        return {"name": self.name, "class": f"{type(self).__module__}:{type(self).__qualname__}"}

    # -- whole-model state (atomicity, save/load, must-raise checks) ------------
    # Exceptions a rejected resize (bad size, below the minimum) is documented to raise.
    resize_errors = (ValueError, TypeError)

    def variable_values(self, model) -> dict:
        """``{name: ndarray}`` of every variable the model tracks (default: the weights of
        ``handles``; adapters over real models return all of them)."""
        return {k: _to_numpy(v) for k, v in self.handles(model).items()}

    def read_config(self, model) -> dict:
        """The model's configuration as plain data (default: just the vocab size)."""
        return {"vocab_size": self.read_config_vocab_size(model)}

    # Exceptions forward() on an id outside [0, V) is documented to raise (TF's gather and
    # tf.debugging asserts raise InvalidArgumentError); a subclass may set a plain tuple.
    @property
    def id_errors(self):
        import tensorflow as tf

        return (tf.errors.InvalidArgumentError,)

    # Exceptions resize_matrix() is documented to raise for NaN/Inf in a kept row.
    nonfinite_errors = (ValueError,)

    # -- checkpoint formats (suite saveload) ----------------------------------------
    # An adapter with one format (``Capabilities.formats == {"default"}``) implements
    # ``save(model, path)`` / ``load(path)``; one with several takes ``fmt`` as a third argument.
    def load_report(self, path, fmt="default"):
        """``(model, report)``: ``load`` plus the library's own loading report, ``{"missing": [...],
        "unexpected": [...], "mismatched": [...]}`` (names as the library reports them), or
        ``None`` when the library gives none."""
        return (self.load(path) if fmt == "default" else self.load(path, fmt)), None

    def resize_under_default_policy(self, model, new_num_tokens):
        """``resize()`` with the global dtype policy at the process default (float32) instead of the
        model's dtype (capability ``dtype_policy``)."""
        raise NotImplementedError

    # -- held state (suite held) -------------------------------------------------------------
    def held_runners(self, model) -> dict:
        """``{way: factory}``: things built from ``model`` before a resize and used after it
        (harness/held.py); default: ``tf.function`` and XLA over ``call``."""
        from harness import held

        return held.traced_runners(self, model)


def sgd_step_on_own_ids(call, model, ids, lr):
    """One plain SGD step on every trainable variable of ``model``: the cross-entropy of
    ``call(model, ids)``'s logits (computed in float32) against the ids themselves, so every
    position trains its own token's row (and a tied head's softmax reaches every row).
    Returns the loss. For adapters whose ``call`` gives ``[B, T, V]`` logits over the ids."""
    import tensorflow as tf

    ids = tf.convert_to_tensor(np.asarray(ids, np.int32))
    variables = model.trainable_variables
    with tf.GradientTape() as tape:
        logits = tf.cast(call(model, ids), tf.float32)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=ids, logits=logits))
    for var, grad in zip(variables, tape.gradient(loss, variables)):
        if grad is not None:
            var.assign_sub(tf.cast(lr * tf.convert_to_tensor(grad), var.dtype))
    return float(loss)


def named_values(variables):
    """``{name: ndarray}`` of tf variables; a repeated name gets ``#2``, ``#3``... in tracking order."""
    out = {}
    for var in variables:
        name, k = var.name, 1
        while name in out:
            k += 1
            name = f"{var.name}#{k}"
        out[name] = var.numpy()
    return out


def _dtype_name(value):
    dtype = getattr(value, "dtype", None)
    return getattr(dtype, "name", str(dtype)) if dtype is not None else None


def _to_numpy(value):
    if hasattr(value, "numpy"):
        return value.numpy()
    return np.asarray(value)
