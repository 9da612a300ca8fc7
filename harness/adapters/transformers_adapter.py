"""Adapter over a transformers TF model class: ``TransformersAdapter("TFBertForMaskedLM")``.

Resize goes through ``model.resize_token_embeddings(n)``; read-back goes to the variables
themselves. Once per class and process a *probe* builds tiny models and finds:

* whether the class has a token vocabulary at all; if not it raises ``Unsupported`` with the
  demonstration ("no token vocabulary: ..."), the only case a class is not applicable;
* the input embedding variable: the ``[V, H]`` variable that receives a gradient from the
  hidden states (so a getter that lies is caught), and its attribute path in the model;
* the output matrix: the ``[V, H]`` (or transposed ``[H, V]``) variable, other than the input
  one, that receives a gradient from the vocabulary logits; none (with vocabulary logits)
  means tied, and tied means the same variable object;
* the bias dict of ``get_bias()``, each entry cross-checked against the model's variables;
* which tie modes really happen (``tie_word_embeddings`` honoured or not), the bias layout,
  and whether traced forwards need autograph (a speed choice: every class is expected to
  trace and to reject out-of-range ids, so those capabilities never depend on the model).

A class with a vocabulary that cannot be built or scored is still run: the probe records the
defect and the cases raise it (``NotDrivable`` or the library's own error), so they fail or
error and a manifest entry must explain them.

``call`` returns ``[B, T, V]`` scores: the model's vocabulary logits when it has an LM head
(``logits`` / ``prediction_logits``), else *probe scores*: a hidden state of the right width
(the decoder's / the text model's first, the embedding output as a fallback), cut to the ids'
length, times the live input embedding matrix transposed. Inputs beside the ids come from
``harness.adapters.transformers_inputs``.
"""

import contextlib
import dataclasses
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from harness.adapter import Adapter, Capabilities, named_values  # noqa: E402
from harness.adapters import transformers_inputs as ti  # noqa: E402
from harness.adapters import transformers_models as tm  # noqa: E402
from harness.adapters.model_pool import ModelPool  # noqa: E402
from harness.adapters.transformers_inputs import make_inputs  # noqa: E402,F401 - re-exported

BUILD_SEED = 0
PROBE_VOCAB = 97  # distinct from every other dimension of the tiny configs
LOGIT_KEYS = ("logits", "prediction_logits")
NO_VOCABULARY = "no token vocabulary"
BASE_FLAGS = frozenset({"shrink", "save_load", "train", "assign_weights",
                        # model-independent: transformers' embeddings check ids against the vocabulary
                        # (tf_utils.check_embeddings_within_bounds) and every TF class is meant to trace
                        "rejects_out_of_range_ids", "graph_forward"})
_PROBES = {}


class Unsupported(Exception):
    """The class has no token vocabulary; the message (``no token vocabulary: ...``) says what the
    probe demonstrated. The only reason a class is not applicable."""


class NotDrivable(Exception):
    """A class with a vocabulary whose forward or weights this adapter cannot reach because of the
    class (the probe's finding); raised by the case that needs them, so the case errors."""


class Defect(str):
    """An attribute path the probe could not find: ``follow`` raises ``NotDrivable`` with the reason."""


@dataclasses.dataclass
class Probe:
    input_path: tuple          # or a Defect
    output_path: object        # tuple, or None when tied / no head
    output_transposed: bool
    bias_paths: dict           # key -> path
    tie_modes: frozenset
    tie_arg: dict              # mode -> value for config.tie_word_embeddings (or None)
    has_head: bool
    bias_layout: str
    forward: tuple             # ("logits", path) or ("hidden", path, index); a Defect if none
    flags: frozenset
    graph_autograph: bool = True  # traced forwards need autograph's conversion
    defect: str = ""           # what keeps the class from being driven (the cases raise it)


# -- attribute paths ---------------------------------------------------------------------
def _children(obj):
    d = getattr(obj, "__dict__", {})
    for key, value in d.items():
        if key.startswith("_") and key not in ("_embeddings",):
            continue
        if isinstance(value, (tf.Variable, tf.keras.layers.Layer)) or _is_layer(value):
            yield key, value


def _is_layer(value):
    return hasattr(value, "trainable_weights") and hasattr(value, "built")


def find_path(root, target, max_depth=8):
    """Shortest attribute path from ``root`` to the object ``target`` (breadth first)."""
    frontier, seen = [((), root)], {id(root)}
    for _ in range(max_depth):
        nxt = []
        for path, obj in frontier:
            for key, value in _children(obj):
                if value is target:
                    return path + (key,)
                if id(value) not in seen and _is_layer(value):
                    seen.add(id(value))
                    nxt.append((path + (key,), value))
        frontier = nxt
    return None


def follow(root, path):
    """The object at ``path``; stops early at a bare variable (a layer replaced by its matrix)."""
    if isinstance(path, Defect):
        raise NotDrivable(str(path))
    obj = root
    for key in path:
        if isinstance(obj, (tf.Variable, tf.Tensor)):
            return obj
        obj = getattr(obj, key)
    return obj


def _word_weight(layer):
    """The matrix behind an embedding getter's return value (like transformers' helper)."""
    if layer is None or isinstance(layer, (tf.Variable, tf.Tensor)):
        return layer
    for attr in ("embeddings", "weight", "decoder"):
        value = getattr(layer, attr, None)
        if value is not None:
            return value
    return None


# -- forward -------------------------------------------------------------------------------
def _outputs(model, ids, hidden=False, training=False):
    kwargs = make_inputs(model, ids)
    if hidden:
        kwargs["output_hidden_states"] = True
    return model(**kwargs, training=training)


def _scores(model, probe, ids):
    if isinstance(probe.forward, Defect):
        raise NotDrivable(str(probe.forward))
    out = _outputs(model, ids, hidden=probe.forward[0] == "hidden")
    if probe.forward[0] == "logits":
        logits = ti.get_path(out, probe.forward[1])
        return tf.reshape(logits, tf.concat([tf.shape(ids), tf.shape(logits)[-1:]], 0))
    states = ti.get_path(out, probe.forward[1])[probe.forward[2]]
    states = tf.reshape(states, tf.stack([tf.shape(ids)[0], -1, tf.shape(states)[-1]]))[:, :tf.shape(ids)[1]]
    matrix = follow(model, probe.input_path)
    return tf.einsum("bth,vh->btv", states, tf.cast(matrix, states.dtype))


# -- building -------------------------------------------------------------------------------
def build_model(class_name, vocab_size, tie=None, seed=0):
    """A tiny ``class_name`` with ``vocab_size``, built by one forward pass on in-range ids."""
    tf.keras.utils.set_random_seed(int(seed))
    config = tm.tiny_config(class_name, vocab_size, tie)
    model = tm.model_class(class_name)(config)
    ids = tf.constant(np.arange(4, dtype=np.int32).reshape(1, 4) % vocab_size)
    _outputs(model, ids)
    return model


def _vh(var, vocab):
    shape = tuple(var.shape)
    return len(shape) == 2 and shape[0] == vocab


def _grads(model, loss_fn):
    variables = model.trainable_variables
    with tf.GradientTape() as tape:
        loss = loss_fn()
    grads = tape.gradient(loss, variables)
    return [(v, g) for v, g in zip(variables, grads) if g is not None]


def _rows(value):
    return int(np.prod(value.shape[:-1])) if len(value.shape) >= 2 else 0


def _probe_forward(model, ids, vocab, width):
    """Where the scores come from: vocabulary logits, else a hidden state of the embedding width."""
    out = _outputs(model, ids, hidden=True)
    n_ids = int(np.prod(ids.shape))
    for path, value in ti.walk(out):
        if path[-1] in LOGIT_KEYS and not isinstance(value, (tuple, list)) and len(value.shape) >= 3 \
                and value.shape[-1] == vocab and _rows(value) == n_ids:
            return ("logits", path)
    batch, length = ids.shape
    for path, states in ti.hidden_candidates(out):
        for index in (len(states) - 1, 0):
            s = states[index]
            rows = _rows(s)
            if s.shape[-1] == width and rows and rows % batch == 0 and rows // batch >= length:
                return ("hidden", path, index)
    return Defect("the forward returns no vocabulary logits and no hidden state of the embedding width "
                  f"({width}) and the ids' length to score (hidden states: "
                  f"{[('.'.join(p), len(s)) for p, s in ti.hidden_candidates(out)] or 'none'})")


def _find_input(model, ids, vocab):
    """The ``[V, H]`` variable the forward reads the ids from (gradient of the non-logit outputs)."""
    def hidden_loss():
        out = _outputs(model, ids, hidden=True)
        leaves = [v for p, v in ti.walk(out) if "logits" not in p[-1]]
        flat = [x for v in leaves for x in (v if isinstance(v, (tuple, list)) else (v,)) if x.dtype.is_floating]
        return tf.add_n([tf.reduce_sum(tf.cast(s, tf.float32)) for s in flat or ti.float_leaves(out)])

    fed = [v for v, _ in _grads(model, hidden_loss) if _vh(v, vocab)]
    if len(fed) > 1:  # e.g. an encoder and a decoder embedding: the one resize targets
        chosen = _word_weight(model.get_input_embeddings())
        fed = [v for v in fed if v is chosen] or fed
    if len(fed) != 1:
        return None, Defect(f"{len(fed)} [vocab, width] variables receive a gradient from the forward's "
                            "hidden states (expected 1: the input embedding)")
    path = find_path(model, fed[0])
    if path is None:
        return None, Defect("the input embedding variable is not reachable by attributes")
    return fed[0], path


def _find_output(model, ids, vocab, forward, input_var):
    if isinstance(forward, Defect) or forward[0] != "logits":
        return None, False, False

    def logit_loss():
        logits = ti.get_path(_outputs(model, ids), forward[1])
        weights = tf.reshape(tf.range(tf.size(logits), dtype=tf.float32) % 7.0, tf.shape(logits))
        return tf.reduce_sum(tf.cast(logits, tf.float32) * weights)

    width = int(input_var.shape[-1])
    for v, _ in _grads(model, logit_loss):
        if v is input_var:
            continue
        shape = tuple(v.shape)
        if shape in ((vocab, width), (width, vocab)):
            return v, shape[0] != vocab, True
    return None, False, True


def _raises(fn):
    try:
        fn()
    except Exception:  # noqa: BLE001 - any error is a rejection
        return True
    return False


def _first_line(exc):
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0][:200] if text else ''}"


def probe(class_name):
    """Build probe models once per process; raise ``Unsupported`` if the class has no vocabulary."""
    if class_name in _PROBES:
        result = _PROBES[class_name]
        if isinstance(result, Exception):
            raise result
        return result
    try:
        result = _probe(class_name)
    except Unsupported as exc:
        _PROBES[class_name] = exc
        raise
    _PROBES[class_name] = result
    return result


# -- no vocabulary: what the probe demonstrates ------------------------------------------------
def _is_abstract(cls):
    """No class between ``cls`` and ``TFPreTrainedModel`` defines a forward (``call``)."""
    import transformers

    for klass in cls.__mro__:
        if klass is transformers.TFPreTrainedModel:
            return True
        if "call" in vars(klass):
            return False
    return True


def _build_plain(class_name):
    """The class built on its own dummy inputs (tiny config, else the default one): (model, how)."""
    errors = []
    for how, make in (("tiny config", lambda: tm.tiny_config(class_name, PROBE_VOCAB)),
                      ("default config", lambda: tm.model_class(class_name).config_class())):
        try:
            tf.keras.utils.set_random_seed(BUILD_SEED)
            model = tm.model_class(class_name)(make())
            model.build_in_name_scope()
            return model, how
        except Exception as exc:  # noqa: BLE001 - reported in the demonstration
            errors.append(f"{how}: {_first_line(exc)}")
    return None, "; ".join(errors)


def _no_vocabulary(class_name):
    """The demonstration that ``class_name`` has no token vocabulary, or None if it may have one."""
    cls = tm.model_class(class_name)
    if _is_abstract(cls):
        model = cls(tm.tiny_config(class_name, PROBE_VOCAB))
        model.build_in_name_scope()
        if model.variables:
            return None
        return (f"{NO_VOCABULARY}: abstract base class: no class from it up to TFPreTrainedModel defines a "
                "forward (call), and an instance built from a tiny config holds no variables")
    config = tm.default_config(class_name)
    if config is None or ti.takes_token_ids(cls):
        return None
    sized = [type(c).__name__ for c in tm.config_tree(config) if hasattr(c, "vocab_size")]
    inputs = getattr(cls, "main_input_name", "?")
    model, how = _build_plain(class_name)
    built = (f"built from a {how}, it holds {len(model.variables)} variables"
             if model is not None else f"it could not be built ({how})")
    if not sized:
        return (f"{NO_VOCABULARY}: the forward takes {inputs} and no token ids, and no config of the class "
                f"({type(config).__name__} and its sub-configs) has a vocab_size; {built}")
    if how == "tiny config" and not any(PROBE_VOCAB in tuple(v.shape) for v in model.variables):
        return (f"{NO_VOCABULARY}: the forward takes {inputs} and no token ids, and the vocab_size of "
                f"{', '.join(sorted(set(sized)))} sizes nothing: {built}, none with a dimension of "
                f"vocab_size={PROBE_VOCAB}")
    return None


# -- the probe ----------------------------------------------------------------------------------
def _static_probe(class_name, defect):
    """Capabilities of a class with a vocabulary that cannot even be built: every case runs and
    raises the build's own error."""
    import transformers

    cls = tm.model_class(class_name)
    has_head = cls.get_lm_head is not transformers.TFPreTrainedModel.get_lm_head or \
        cls.get_output_embeddings is not transformers.TFPreTrainedModel.get_output_embeddings
    mode = "tied" if has_head else "untied"
    return Probe(Defect(defect), None, False, {}, frozenset({mode}), {mode: None}, has_head, "none",
                 Defect(defect), BASE_FLAGS | ({"output_embeddings"} if has_head else set()), defect=defect)


def _probe(class_name):
    reason = _no_vocabulary(class_name)
    if reason:
        raise Unsupported(reason)
    vocab = PROBE_VOCAB
    ids = tf.constant(np.array([[3, 5, 7, 11, 13], [2, 4, 6, 8, 96]], np.int32))
    found, defects = {}, []
    for tie in (True, False):
        try:
            model = build_model(class_name, vocab, tie)
        except Exception as exc:  # noqa: BLE001 - a class with a vocabulary that cannot be built
            if found:
                defects.append(f"tie_word_embeddings={tie} cannot be built: {_first_line(exc)}")
                break
            return _static_probe(class_name, f"the tiny model cannot be built: {_first_line(exc)}")
        input_var, input_path = _find_input(model, ids, vocab)
        if input_var is None:
            defects.append(str(input_path))
            has_head = model.get_output_embeddings() is not None
            mode = "tied" if has_head else "untied"
            found[mode] = (tie, model, input_path, input_path, None, False, has_head)
            break
        model._probe_input_path = input_path
        forward = _probe_forward(model, ids, vocab, int(input_var.shape[-1]))
        if isinstance(forward, Defect):
            defects.append(str(forward))
        out_var, transposed, has_head = _find_output(model, ids, vocab, forward, input_var)
        mode = "untied" if out_var is not None or not has_head else "tied"
        if mode == "tied" and _word_weight(model.get_output_embeddings()) is not input_var:
            defects.append("get_output_embeddings() does not return the matrix the logits use")
        found.setdefault(mode, (tie, model, input_path, forward, out_var, transposed, has_head))
        if not has_head:
            break
    tie_arg = {mode: v[0] for mode, v in found.items()}
    _, model, input_path, forward, _, _, has_head = found.get("tied") or found["untied"]
    untied = found.get("untied")
    output_path, transposed = None, False
    if untied and untied[4] is not None:
        output_path, transposed = find_path(untied[1], untied[4]), untied[5]
        if output_path is None:
            defects.append("the untied output matrix is not reachable by attributes")
            output_path = Defect(defects[-1])
    bias_paths, layout = {}, "none"
    try:
        bias = model.get_bias() if has_head else None
    except Exception as exc:  # noqa: BLE001 - get_bias is part of what resize uses
        bias = None
        defects.append(f"get_bias() raises {_first_line(exc)}")
    tracked = {id(v) for v in model.variables}
    for key, value in (bias or {}).items():
        path = find_path(model, value)
        if path is None or id(value) not in tracked:
            defects.append(f"get_bias()['{key}'] is not a tracked variable of the model")
            continue
        bias_paths[key] = path
    if bias_paths:
        ranks = {len(follow(model, p).shape) for p in bias_paths.values()}
        layout = "multi" if len(bias_paths) > 1 else ("vector" if ranks == {1} else "row")
    flags = set(BASE_FLAGS)
    if has_head:
        flags.add("output_embeddings")
    if not isinstance(forward, Defect) and forward[0] == "logits" and len(forward[1]) == 1:
        flags.add("keras_logits")  # a top-level logits output: the held.keras_* ways (held_runners)
    p = Probe(input_path, output_path, transposed, bias_paths, frozenset(found), tie_arg, has_head,
              layout, forward, frozenset(), defect="; ".join(defects))
    autograph = True
    if not isinstance(input_path, Defect):
        small = build_model(class_name, 11, tie_arg[sorted(tie_arg)[0]])
        small._probe_input_path = input_path
        autograph = _needs_autograph(small, p)
        if _cached_sizes(small):
            flags.add("cached_vocab_sizes")
    return dataclasses.replace(p, flags=frozenset(flags), graph_autograph=autograph)


def _needs_autograph(model, p):
    """Speed only: a trace without autograph's source conversion (~4 s a process) when it works."""
    fn = tf.function(lambda x: _scores(model, p, x), autograph=False,
                     input_signature=[tf.TensorSpec([None, None], tf.int32)])
    return _raises(lambda: fn(tf.constant([[1, 2, 3]])))


def _cached_sizes(model):
    out = {}
    for layer in model._flatten_layers(include_self=True, recursive=True):
        value = getattr(layer, "vocab_size", None)
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            out[f"{layer.name}.vocab_size"] = int(value)
    return out


class TransformersAdapter(Adapter):
    """Drive ``transformers.<class_name>`` (a TF model) through the conformance checks."""

    def __init__(self, class_name, reuse_models=None):
        """``reuse_models``: recycle built models (default; RESIZE_CONFORMANCE_REUSE_MODELS=0 turns it off)."""
        if not class_name.startswith("TF"):
            raise ValueError(f"{class_name!r} is not a transformers TF model class (TF...)")
        if not tm.is_model_class(class_name):  # imports this class's module only
            raise ValueError(f"{class_name!r} is not a TF model class exported by transformers "
                             "(see harness.adapters.transformers_models.list_classes())")
        self.class_name = class_name
        self.name = f"transformers/{class_name}"
        self._probe = None
        if reuse_models is None:
            reuse_models = os.environ.get("RESIZE_CONFORMANCE_REUSE_MODELS", "1") != "0"
        self._pool = ModelPool(per_key=2 if reuse_models else 0)
        self._saved_dtypes = {}  # checkpoint path -> dtype policy it was saved under (for load)

    def probe(self):
        if self._probe is None:
            self._probe = probe(self.class_name)
        return self._probe

    @property
    def graph_autograph(self):
        return self.probe().graph_autograph

    def capabilities(self):
        p = self.probe()
        return Capabilities(tie_modes=p.tie_modes, bias_layouts=frozenset({p.bias_layout}),
                            dtypes=self.dtypes(), flags=p.flags | {"dtype_policy"},
                            formats=frozenset(self.FORMATS))

    # -- dtypes: a float16 / bfloat16 model is built (and resized, run, loaded) under that global
    # Keras dtype policy, as a user who runs it sets it; the policy is restored afterwards.
    POLICY_DTYPES = ("float16", "bfloat16")
    _DTYPE_PROBES = {}  # class name -> {dtype: None (runs) or the reason it does not}, per process

    @staticmethod
    @contextlib.contextmanager
    def policy(dtype):
        """The global Keras dtype policy set to ``dtype`` inside the block, restored after."""
        mp = tf.keras.mixed_precision
        old = mp.global_policy()
        if old.name == dtype:
            yield
            return
        mp.set_global_policy(dtype)
        try:
            yield
        finally:
            mp.set_global_policy(old)

    def dtype_probe(self):
        """Per policy dtype: None if a tiny model builds under it with the input matrix in that dtype
        and gives finite scores, else the reason (once per class and process)."""
        if self.class_name not in self._DTYPE_PROBES:
            p, out = self.probe(), {}
            mode = sorted(p.tie_arg)[0]
            for dtype in self.POLICY_DTYPES:
                try:
                    with self.policy(dtype):
                        model = build_model(self.class_name, 11, p.tie_arg[mode], BUILD_SEED)
                        model._probe_input_path = p.input_path
                        scores = _scores(model, p, tf.constant([[1, 5, 10]]))
                    got = follow(model, p.input_path).dtype.name
                    finite = bool(np.isfinite(np.asarray(tf.cast(scores, tf.float32))).all())
                    out[dtype] = (None if got == dtype and finite else
                                  f"under the {dtype} policy the input matrix is {got}" if got != dtype else
                                  f"non-finite scores under the {dtype} policy")
                except Exception as exc:  # noqa: BLE001 - a class that cannot run in a dtype lacks it
                    out[dtype] = f"{type(exc).__name__}: {str(exc).strip()[:160]}"
            self._DTYPE_PROBES[self.class_name] = out
        return self._DTYPE_PROBES[self.class_name]

    def dtypes(self):
        return frozenset({"float32"} | {d for d, why in self.dtype_probe().items() if why is None})

    def _dtype(self, model):
        dtype = getattr(model, "_conformance_dtype", None)
        return dtype or follow(model, self.probe().input_path).dtype.name

    def describe(self):
        d = super().describe()
        d["model_class"] = self.class_name
        try:
            import transformers

            d["transformers"] = transformers.__version__
            p = self.probe()
            d["forward"] = ":".join(str(x) for x in p.forward)
            d["input_path"] = ".".join(p.input_path)
            d["graph_autograph"] = p.graph_autograph
            d["dtypes_unsupported"] = {k: v for k, v in self.dtype_probe().items() if v}
        except Exception:  # noqa: BLE001 - describe never fails
            pass
        return d

    # -- building / resizing -------------------------------------------------------------
    def build(self, spec):
        """A just-built model: a recycled one restored to its built state, else a new one."""
        p = self.probe()
        mode = spec.tie if spec.tie in p.tie_arg else sorted(p.tie_arg)[0]
        # One model per class and configuration: its weights come from BUILD_SEED, not from the
        # case seed, so a restored model is bit-identical to a fresh build in any case (and in
        # the case's reproduction command). The case seed drives the resize's random draws.
        key = (int(spec.vocab_size), mode, spec.dtype)
        model = self._pool.take(key)
        if model is None:
            with self.policy(spec.dtype):
                model = build_model(self.class_name, spec.vocab_size, p.tie_arg[mode], BUILD_SEED)
            model._probe_input_path = p.input_path
            model._conformance_mode = mode
            model._conformance_dtype = spec.dtype
            self._pool.register(model, key)
        # Same random state after a build and after a restore: resizes draw the same new rows.
        tf.keras.utils.set_random_seed(int(spec.seed) + 1)
        return model

    def recycle(self, model):
        self._pool.recycle(model)

    shrink_failures = False  # a shrink step builds and resizes a real model: minutes per failure

    def property_examples(self, profile):
        """Real models are expensive: few hypothesis examples (the edge cases still all run)."""
        return {"dev": 2, "ci": 3}.get(profile, 25)

    def resize(self, model, new_num_tokens):
        with self.policy(self._dtype(model)):
            return model.resize_token_embeddings(new_num_tokens)

    def resize_under_default_policy(self, model, new_num_tokens):
        with self.policy("float32"):
            return model.resize_token_embeddings(new_num_tokens)

    def call(self, model, ids):
        with self.policy(self._dtype(model)):
            return _scores(model, self.probe(), ids)

    # -- read-back --------------------------------------------------------------------------
    def handles(self, model):
        p = self.probe()
        h = {"input": follow(model, p.input_path)}
        if p.has_head:
            if self._mode(model) == "untied" and p.output_path is not None:
                h["output"] = follow(model, p.output_path)
            else:  # tied build: the matrix the head reports (checked against the gradients at probe time)
                h["output"] = _word_weight(model.get_output_embeddings())
        for key, path in p.bias_paths.items():
            h["bias:" + key] = follow(model, path)
        return h

    def _mode(self, model):
        mode = getattr(model, "_conformance_mode", None)
        if mode is None:  # a loaded model: from its config
            p = self.probe()
            tie = getattr(model.config, "tie_word_embeddings", None)
            mode = next((m for m, v in p.tie_arg.items() if v == tie), sorted(p.tie_modes)[0])
        return mode

    def read_output_matrix(self, model):
        h = self.handles(model).get("output")
        if h is None:
            return None
        value = h.numpy() if hasattr(h, "numpy") else np.asarray(h)
        return value.T if self.probe().output_transposed and h is not self.handles(model)["input"] else value

    def read_config_vocab_size(self, model):
        return tm.config_vocab_size(model.config)  # a composite's text/decoder sub-config sizes the embedding

    def read_cached_vocab_sizes(self, model):
        return _cached_sizes(model)

    def initializer_range(self, model):
        cfg = model.config
        for key in ("initializer_range", "init_std", "initializer_factor"):
            value = getattr(cfg, key, None)
            if isinstance(value, float):
                return value
        return 0.02

    def variable_shapes(self, model):
        return [(v.name, tuple(int(d) for d in v.shape)) for v in model.variables]

    def variable_values(self, model):
        """Every variable by name, without the model's own (instance-numbered) top scope, so two
        instances compare by name; a variable created outside that scope keeps its full name."""
        scope = model.name + "/"
        return {k[len(scope):] if k.startswith(scope) else k: v for k, v in named_values(model.variables).items()}

    def read_config(self, model):
        return model.config.to_dict()

    resize_errors = (ValueError, TypeError, tf.errors.InvalidArgumentError)

    # -- optional capabilities -----------------------------------------------------------------
    # Checkpoint formats of TFPreTrainedModel.save_pretrained / from_pretrained (modeling_tf_utils.py):
    # h5 (safe_serialization=False, Keras save_weights), safetensors (safe_serialization=True), and
    # both sharded (max_shard_size: an index file plus shards, loaded by load_tf_sharded_weights*).
    FORMATS = ("h5", "safetensors", "h5_sharded", "safetensors_sharded")

    def save(self, model, path, fmt="h5"):
        if fmt not in self.FORMATS:
            raise ValueError(f"unknown format {fmt!r} (offers {self.FORMATS})")
        kwargs = {}
        if fmt.endswith("_sharded"):  # about two shards: the sharded path, without a gc.collect() per tiny shard
            kwargs["max_shard_size"] = sum(int(np.prod(w.shape)) * w.dtype.size for w in model.weights) // 2 + 1
        model.save_pretrained(path, safe_serialization=fmt.startswith("safetensors"), **kwargs)
        if fmt.endswith("_sharded") and not any(f.endswith(".index.json") for f in os.listdir(path)):
            raise RuntimeError(f"save_pretrained(max_shard_size={kwargs['max_shard_size']}) wrote no sharded checkpoint")
        self._saved_dtypes[os.path.realpath(path)] = self._dtype(model)

    def load(self, path, fmt="h5"):
        return self.load_report(path, fmt)[0]

    def load_report(self, path, fmt="h5"):
        """``from_pretrained(..., output_loading_info=True)`` from ``fmt`` only (``use_safetensors``),
        under the dtype policy the model was saved in; its missing/unexpected/mismatched keys."""
        if fmt not in self.FORMATS:
            raise ValueError(f"unknown format {fmt!r} (offers {self.FORMATS})")
        dtype = self._saved_dtypes.get(os.path.realpath(path), "float32")
        with self.policy(dtype):
            model, info = tm.model_class(self.class_name).from_pretrained(
                path, local_files_only=True, output_loading_info=True,
                use_safetensors=fmt.startswith("safetensors"))
        model._probe_input_path = self.probe().input_path
        model._conformance_dtype = dtype
        report = {k.replace("_keys", ""): sorted(str(x) for x in info.get(k) or ())
                  for k in ("missing_keys", "unexpected_keys", "mismatched_keys")}
        return model, report

    def train_step(self, model, ids, lr=0.5):
        ids = tf.convert_to_tensor(np.asarray(ids, np.int32))
        variables = model.trainable_variables
        with tf.GradientTape() as tape:
            logits = tf.cast(self.call(model, ids), tf.float32)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=ids, logits=logits))
        for var, grad in zip(variables, tape.gradient(loss, variables)):
            if grad is not None:
                var.assign_sub(lr * tf.cast(tf.convert_to_tensor(grad), var.dtype))
        return float(loss)

    def assign(self, model, which, values):
        target = self.handles(model)[which]
        values = np.asarray(values)
        if which == "output" and self.probe().output_transposed:
            values = values.T
        target.assign(tf.cast(values, target.dtype))

    def held_runners(self, model):
        """``tf.function`` / XLA over ``call`` (base) and, with ``keras_logits``, Keras ``predict`` /
        ``test_on_batch`` / ``train_on_batch`` on ``make_inputs``'s dict, the logits output named by
        the labels' key (transformers' train/test_step match it by name); all under the model's
        dtype policy (harness/held.py)."""
        from harness import held  # noqa: PLC0415

        runners = super().held_runners(model)
        p = self.probe()
        if "keras_logits" in p.flags:
            key = p.forward[1][0]

            def logits(out, ids):
                value = np.asarray(ti.get_path(out, p.forward[1]))
                return value.reshape(tuple(np.shape(ids)) + value.shape[-1:])

            runners.update(held.keras_runners(model, inputs=lambda ids: make_inputs(model, ids), logits=logits,
                                              labels=lambda ids: {key: ids}))
        policy = lambda: self.policy(self._dtype(model))  # noqa: E731
        return {way: held.within(policy, factory) for way, factory in runners.items()}
