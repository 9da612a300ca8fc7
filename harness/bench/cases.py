"""What ``resize-conformance bench`` measures: cases that resize one ``[V, H]`` float32 matrix.

A case's ``prepare(source, n)`` does the untimed setup (building a model, tracing) and returns
``run()``, which performs one resize to ``n`` rows and returns its result (kept alive until the
clock or the memory reading stops). Groups:

* ``floor``: the fastest plain copy of the same bytes (numpy, and a TensorFlow ``concat`` into
  a fresh ``[n, H]`` tensor); the floor of a shape is the faster of the two;
* ``alias``: ``tf.identity`` of a variable read and ``tf.Variable(tensor)``. They *share* the
  buffer (no copy), which is why they are not floors; shown to document that;
* ``reference``: ``reference.resize_matrix`` eagerly, through ``tf.function`` (traced once with
  ``[None, None]``), with ``nonfinite="keep"``, and ``resize_variable`` (what the model resize
  does per matrix);
* ``part``: pieces of the reference's cost, each alone and eager (in the reference they run in
  one graph, concurrently with the copy): the NaN/Inf scan of the kept rows and the truncated
  normal draw of the new rows;
* ``transformers``: ``TFPreTrainedModel._get_resized_embeddings`` (bare variable) and
  ``_v2_get_resized_embeddings`` (a Keras ``Embedding``), and ``resize_token_embeddings`` on
  one-layer models built with the shape: TFBertForMaskedLM (tied, bias ``[V]``),
  TFGPT2LMHeadModel (tied, no bias), TFRemBertForMaskedLM (untied decoder, bias ``[V]``).
  Their weights are zero-initialised at build (setup speed only) and then set from the source.
"""

import contextlib
import dataclasses
import fnmatch
import functools
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

GROW, SHRINK = "grow", "shrink"
DIRECTIONS = (GROW, SHRINK)
SOURCE_NAME = "word_embeddings/embeddings"
# The shape's matrix above this is "large": transformers' whole-model cases are optional there.
LARGE_MATRIX_BYTES = 1.5e9


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    group: str
    about: str
    prepare: object
    matrices: int = 1       # new [n, H] matrices the case produces (memory is per matrix)
    peak: float = 2.0       # rough peak of the process in matrices (source included), for skips
    needs_source_numpy: bool = False
    transformers: bool = False
    model: bool = False     # a whole transformers model: optional at large shapes
    grow_only: bool = False
    timing_only: bool = False  # a cost component: no memory measurement

    def to_dict(self):
        return {"name": self.name, "group": self.group, "about": self.about, "matrices": self.matrices,
                "transformers": self.transformers, "model": self.model}


class Source:
    """The ``[V, H]`` float32 source, a ``tf.Variable`` filled from a seeded normal (same data
    for every case of a run); ``array()`` is a numpy copy, made on demand."""

    def __init__(self, rows, width, seed=0, variable=True):
        import tensorflow as tf

        self.rows, self.width = int(rows), int(width)
        self._array = None
        self.variable = None
        values = tf.random.stateless_normal([self.rows, self.width], [int(seed), 1], stddev=0.02)
        if variable:
            self.variable = tf.Variable(values, name=SOURCE_NAME)  # shares the buffer of ``values``
        else:
            self._array = values.numpy()

    @property
    def nbytes(self):
        return self.rows * self.width * 4

    def array(self):
        if self._array is None:
            self._array = self.variable.numpy()
        return self._array


def matrix_bytes(rows, width, itemsize=4):
    return int(rows) * int(width) * int(itemsize)


# -- floors and aliases ------------------------------------------------------------------
def _floor_numpy(src, n):
    import numpy as np

    a = src.array()
    keep = min(src.rows, n)

    def run():
        out = np.empty((n, src.width), a.dtype)
        out[:keep] = a[:keep]
        out[keep:] = 0
        return out

    return run


def _floor_tf(src, n):
    import tensorflow as tf

    keep = min(src.rows, n)
    var = src.variable

    def run():
        x = var.value()
        return tf.concat([x[:keep], tf.zeros([n - keep, src.width], x.dtype)], axis=0)

    return run


def _alias_identity(src, n):
    import tensorflow as tf

    var = src.variable
    return lambda: tf.identity(var.read_value())


def _alias_variable(src, n):
    import tensorflow as tf

    var = src.variable
    return lambda: tf.Variable(var.read_value())


# -- reference -------------------------------------------------------------------------------
def _ref_eager(nonfinite):
    def prepare(src, n):
        from reference import resize_matrix

        var = src.variable
        return lambda: resize_matrix(var, n, seed=0, nonfinite=nonfinite)

    return prepare


@functools.cache
def graph_resize():
    """``resize_matrix`` as one ``tf.function`` with unknown dims (traced on its first call)."""
    import tensorflow as tf

    from reference import resize_matrix

    return tf.function(lambda m, k: resize_matrix(m, k, seed=0), input_signature=[
        tf.TensorSpec([None, None], tf.float32), tf.TensorSpec([], tf.int32)])


def _ref_graph(src, n):
    fn = graph_resize()
    var = src.variable
    return lambda: fn(var, n)


def _ref_variable(src, n):
    from reference import resize_variable

    var = src.variable
    return lambda: resize_variable(var, n, seed=0)


def _part_check(src, n):
    import tensorflow as tf

    keep = min(src.rows, n)
    var = src.variable
    return lambda: bool(tf.math.is_finite(tf.reduce_sum(var.value()[:keep])))


def _part_rng(src, n):
    import tensorflow as tf

    from reference import truncated_normal_initializer

    init = truncated_normal_initializer(0.02, 0)
    return lambda: init([max(n - src.rows, 0), src.width], tf.float32)


# -- transformers ------------------------------------------------------------------------------
@contextlib.contextmanager
def zero_init(*modules):
    """Build transformers models with zero initialisers (fast setup; the resize is not patched)."""
    from transformers.modeling_tf_utils import keras

    saved = [(m, m.get_initializer) for m in modules]
    try:
        for m in modules:
            m.get_initializer = lambda initializer_range=0.02: keras.initializers.Zeros()
        yield
    finally:
        for m, fn in saved:
            m.get_initializer = fn


def _tiny_bert(vocab=8, width=8):
    from transformers import BertConfig, TFBertForMaskedLM

    cfg = BertConfig(vocab_size=vocab, hidden_size=width, num_hidden_layers=1, num_attention_heads=1,
                     intermediate_size=8, max_position_embeddings=16)
    return TFBertForMaskedLM(cfg)


def _hf_helper_v1(src, n):
    model = _tiny_bert()  # only lends ``self`` (config, add_weight) to the helper
    var = src.variable
    return lambda: model._get_resized_embeddings(var, n)


def _hf_helper_v2(src, n):
    from transformers.modeling_tf_utils import keras

    layer = keras.layers.Embedding(src.rows, src.width, embeddings_initializer="zeros", name="word_embeddings")
    layer.build((None,))
    layer.embeddings.assign(src.variable)
    model = _tiny_bert()
    return lambda: model._v2_get_resized_embeddings(layer, n)


MODEL_CLASSES = {
    "TFBertForMaskedLM": ("bert", "BertConfig", dict(num_hidden_layers=1, num_attention_heads=1,
                                                     intermediate_size=32, max_position_embeddings=64)),
    "TFGPT2LMHeadModel": ("gpt2", "GPT2Config", dict(n_layer=1, n_head=1, n_inner=32, n_positions=64)),
    "TFRemBertForMaskedLM": ("rembert", "RemBertConfig", dict(num_hidden_layers=1, num_attention_heads=1,
                                                              intermediate_size=32, max_position_embeddings=64)),
}


def build_hf_model(class_name, vocab, width):
    """A one-layer transformers model with a ``[vocab, width]`` vocabulary, zero-initialised."""
    import importlib

    import transformers

    model_type, config_name, extra = MODEL_CLASSES[class_name]
    module = importlib.import_module(f"transformers.models.{model_type}.modeling_tf_{model_type}")
    sizes = dict(vocab_size=vocab, hidden_size=width, n_embd=width, input_embedding_size=width,
                 output_embedding_size=width)
    config = getattr(transformers, config_name)(**sizes, **extra)
    with zero_init(module):
        model = getattr(transformers, class_name)(config)
        model.build_in_name_scope()
    return model


def hf_matrices(model):
    """(input matrix variable, untied decoder variable or None) of a transformers model."""
    from transformers.modeling_tf_utils import keras

    layer = model.get_input_embeddings()
    inp = layer.embeddings if isinstance(layer, keras.layers.Embedding) else model._get_word_embedding_weight(layer)
    out_layer = model.get_output_embeddings()
    out = None
    if out_layer is not None and not isinstance(out_layer, keras.layers.Embedding):
        out = model._get_word_embedding_weight(out_layer)
    return inp, (out if out is not None and out is not inp else None)


def _hf_model(class_name):
    def prepare(src, n):
        model = build_hf_model(class_name, src.rows, src.width)
        inp, out = hf_matrices(model)
        inp.assign(src.variable)
        if out is not None:  # values must differ from the input's, or transformers skips it as "tied"
            out.assign(src.variable + 1.0)
        return lambda: model.resize_token_embeddings(n)

    return prepare


CASES = [
    Case("floor.numpy", "floor", "np.empty([n, H]); copy the kept rows, zero the rest", _floor_numpy,
         needs_source_numpy=True),
    Case("floor.tf_copy", "floor", "tf.concat of the kept rows and zero rows into a fresh [n, H] tensor",
         _floor_tf),
    Case("alias.tf_identity", "alias", "tf.identity(variable.read_value()): shares the buffer, no copy",
         _alias_identity, peak=1.0),
    Case("alias.tf_variable", "alias", "tf.Variable(variable.read_value()): shares the buffer, no copy",
         _alias_variable, peak=1.0),
    Case("reference.eager", "reference", "resize_matrix(var, n, seed=0), eager", _ref_eager("error")),
    Case("reference.graph", "reference", "resize_matrix in tf.function([None, None]), traced beforehand",
         _ref_graph),
    Case("reference.eager_keep", "reference", "resize_matrix(..., nonfinite='keep'): no NaN/Inf scan",
         _ref_eager("keep")),
    Case("reference.variable", "reference", "resize_variable(var, n, seed=0): a new Variable (model resize)",
         _ref_variable),
    Case("part.check", "part", "the NaN/Inf scan of the kept rows (one reduce_sum)", _part_check,
         timing_only=True),
    Case("part.rng", "part", "truncated normal draw of the new rows, inverse CDF (grow only)", _part_rng,
         grow_only=True, timing_only=True),
    Case("transformers.helper_v1", "transformers", "TFPreTrainedModel._get_resized_embeddings(var, n)",
         _hf_helper_v1, peak=5.0, transformers=True),
    Case("transformers.helper_v2", "transformers", "TFPreTrainedModel._v2_get_resized_embeddings(Embedding, n)",
         _hf_helper_v2, peak=5.0, transformers=True),
    Case("transformers.TFBertForMaskedLM", "transformers", "resize_token_embeddings: tied, bias [V], 1 layer",
         _hf_model("TFBertForMaskedLM"), peak=6.0, transformers=True, model=True),
    Case("transformers.TFGPT2LMHeadModel", "transformers", "resize_token_embeddings: tied, no bias, 1 layer",
         _hf_model("TFGPT2LMHeadModel"), peak=6.0, transformers=True, model=True),
    Case("transformers.TFRemBertForMaskedLM", "transformers",
         "resize_token_embeddings: untied decoder, bias [V], 1 layer (2 matrices)",
         _hf_model("TFRemBertForMaskedLM"), matrices=2, peak=10.0, transformers=True, model=True),
]
BY_NAME = {c.name: c for c in CASES}
FLOORS = [c.name for c in CASES if c.group == "floor"]
TRANSFORMERS_HELPERS = ["transformers.helper_v1", "transformers.helper_v2"]


def select(patterns=()):
    """Cases whose name matches one of the globs (all when none)."""
    if not patterns:
        return list(CASES)
    return [c for c in CASES if any(fnmatch.fnmatchcase(c.name, p) or c.group == p for p in patterns)]


def new_rows(rows, delta, direction):
    return rows + delta if direction == GROW else rows - delta


def skip_reason(case, rows, width, direction, *, models="auto", mem_available=None):
    """Why ``case`` does not run at this shape/direction, or ``""``."""
    if case.grow_only and direction != GROW:
        return "grow only"
    nbytes = matrix_bytes(rows, width)
    if case.model and models == "none":
        return "transformers model cases disabled (--transformers-models none)"
    if case.model and models == "auto" and nbytes > LARGE_MATRIX_BYTES:
        return (f"optional at a {nbytes / 1e9:.1f} GB matrix (transformers redraws the whole [n, H] matrix and "
                f"needs ~{case.peak:g}x its size): pass --transformers-models all")
    if mem_available is not None and case.peak * nbytes > 0.85 * mem_available:
        return (f"needs ~{case.peak * nbytes / 1e9:.1f} GB, more than 85% of the "
                f"{mem_available / 1e9:.1f} GB available")
    return ""
