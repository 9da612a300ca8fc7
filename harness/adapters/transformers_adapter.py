"""Adapter over a transformers TF model class: ``TransformersAdapter("TFBertForMaskedLM")``.

Resize goes through ``model.resize_token_embeddings(n)``; read-back goes to the variables
themselves. Once per class and process a *probe* builds tiny models and finds:

* the input embedding variable: the ``[V, H]`` variable that receives a gradient from the
  hidden states (so a getter that lies is caught), and its attribute path in the model;
* the output matrix: the ``[V, H]`` (or transposed ``[H, V]``) variable, other than the input
  one, that receives a gradient from the vocabulary logits; none (with vocabulary logits)
  means tied, and tied means the same variable object;
* the bias dict of ``get_bias()``, each entry cross-checked against the model's variables;
* which tie modes really happen (``tie_word_embeddings`` honoured or not), the bias layout,
  whether traced forwards work and whether ids ``>= V`` / ``< 0`` raise on CPU.

``call`` returns ``[B, T, V]`` scores: the model's vocabulary logits when it has an LM head
(``logits`` / ``prediction_logits``), else *probe scores*: the last hidden state of the right
width and length (the decoder's for seq2seq models, the embedding output as a fallback)
times the live input embedding matrix transposed. Seq2seq models get ``decoder_input_ids = ids``;
multiple-choice models get ``ids[:, None, :]``; LayoutLM gets zero boxes.
"""

import dataclasses
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from harness.adapter import Adapter, Capabilities, named_values  # noqa: E402
from harness.adapters import transformers_models as tm  # noqa: E402
from harness.adapters.model_pool import ModelPool  # noqa: E402

BUILD_SEED = 0
PROBE_VOCAB = 97  # distinct from every other dimension of the tiny configs
LOGIT_KEYS = ("logits", "prediction_logits")
HIDDEN_KEYS = ("decoder_hidden_states", "hidden_states")
_PROBES = {}


class Unsupported(Exception):
    """The class cannot be driven by this adapter (the message is the reason)."""


@dataclasses.dataclass
class Probe:
    input_path: tuple
    output_path: object        # tuple, or None when tied / no head
    output_transposed: bool
    bias_paths: dict           # key -> path
    tie_modes: frozenset
    tie_arg: dict              # mode -> value for config.tie_word_embeddings (or None)
    has_head: bool
    bias_layout: str
    forward: tuple             # ("logits", key) or ("hidden", key, index)
    flags: frozenset
    graph_autograph: bool = True  # traced forwards need autograph's conversion


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


def find_path(root, target, max_depth=7):
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


# -- inputs --------------------------------------------------------------------------------
def _params(cls):
    import inspect

    return set(inspect.signature(cls.call).parameters)


def make_inputs(model, ids):
    """Keyword inputs for ``model`` given int ids ``[B, T]`` (works on symbolic shapes)."""
    ids = tf.convert_to_tensor(ids)
    ids = tf.cast(ids, tf.int32)
    name = type(model).__name__
    params = _params(type(model))
    inputs = {"input_ids": ids[:, None, :] if name.endswith("ForMultipleChoice") else ids}
    if "decoder_input_ids" in params and getattr(model.config, "is_encoder_decoder", False):
        inputs["decoder_input_ids"] = ids
    if "bbox" in params:
        inputs["bbox"] = tf.zeros(tf.concat([tf.shape(inputs["input_ids"]), [4]], 0), tf.int32)
    if getattr(model.config, "model_type", "") == "tapas":
        inputs["token_type_ids"] = tf.zeros(tf.concat([tf.shape(ids), [7]], 0), tf.int32)
    return inputs


def _outputs(model, ids, hidden=False, training=False):
    kwargs = make_inputs(model, ids)
    if hidden:
        kwargs["output_hidden_states"] = True
    return model(**kwargs, training=training)


def _get(out, key):
    try:
        return out[key]
    except (KeyError, TypeError, IndexError):
        return getattr(out, key, None)


def _scores(model, probe, ids):
    out = _outputs(model, ids, hidden=probe.forward[0] == "hidden")
    if probe.forward[0] == "logits":
        logits = _get(out, probe.forward[1])
        return tf.reshape(logits, tf.concat([tf.shape(ids), tf.shape(logits)[-1:]], 0))
    states = _get(out, probe.forward[1])[probe.forward[2]]
    states = tf.reshape(states, tf.concat([tf.shape(ids), tf.shape(states)[-1:]], 0))
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


def _probe_forward(model, ids, vocab):
    out = _outputs(model, ids, hidden=True)
    for key in LOGIT_KEYS:
        value = _get(out, key)
        if value is not None and hasattr(value, "shape") and value.shape[-1] == vocab and len(value.shape) >= 3:
            return ("logits", key), out
    width = int(follow(model, model._probe_input_path).shape[-1])
    for key in HIDDEN_KEYS:
        states = _get(out, key)
        if not states:
            continue
        for index in (-1, 0):
            s = states[index]
            if s.shape[-1] == width and int(np.prod(s.shape[:-1])) == int(np.prod(ids.shape)):
                return ("hidden", key, index if index == 0 else len(states) - 1), out
    raise Unsupported("no vocabulary logits and no hidden state of the embedding width to score")


def _find_input(model, ids, vocab):
    candidates = [v for v in model.variables if _vh(v, vocab)]
    if not candidates:
        raise Unsupported("no [vocab, width] input embedding variable")

    def hidden_loss():
        out = _outputs(model, ids, hidden=True)
        states = _get(out, "decoder_hidden_states") or _get(out, "hidden_states")
        if states:
            return tf.add_n([tf.reduce_sum(tf.cast(s, tf.float32)) for s in states])
        return tf.reduce_sum(tf.cast(out[0], tf.float32))

    fed = [v for v, _ in _grads(model, hidden_loss) if _vh(v, vocab)]
    if len(fed) != 1:
        raise Unsupported(f"{len(fed)} [vocab, width] variables feed the hidden states (expected 1)")
    path = find_path(model, fed[0])
    if path is None:
        raise Unsupported("the input embedding variable is not reachable by attributes")
    return fed[0], path


def _find_output(model, ids, vocab, forward, input_var):
    if forward[0] != "logits":
        return None, False, False

    def logit_loss():
        logits = _get(_outputs(model, ids), forward[1])
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


def probe(class_name):
    """Build probe models once per process; raise ``Unsupported`` with a reason if unusable."""
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
    except Exception as exc:  # noqa: BLE001 - a build failure makes the class unsupported
        err = Unsupported(f"tiny model cannot be built/run: {type(exc).__name__}: "
                          f"{str(exc).strip().splitlines()[0][:160] if str(exc).strip() else ''}")
        _PROBES[class_name] = err
        raise err from exc
    _PROBES[class_name] = result
    return result


def _probe(class_name):
    reason = tm.entry(class_name).reason
    if reason:
        raise Unsupported(reason)
    vocab = PROBE_VOCAB
    ids = tf.constant(np.array([[3, 5, 7, 11, 13], [2, 4, 6, 8, 96]], np.int32))
    found = {}
    for tie in (True, False):
        model = build_model(class_name, vocab, tie)
        input_var, input_path = _find_input(model, ids, vocab)
        model._probe_input_path = input_path
        forward, _ = _probe_forward(model, ids, vocab)
        out_var, transposed, has_head = _find_output(model, ids, vocab, forward, input_var)
        mode = "untied" if out_var is not None or not has_head else "tied"
        if mode == "tied" and _word_weight(model.get_output_embeddings()) is not input_var:
            raise Unsupported("get_output_embeddings() does not return the matrix the logits use")
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
            raise Unsupported("the untied output matrix is not reachable by attributes")
    bias_paths, layout = {}, "none"
    bias = model.get_bias() if has_head else None
    tracked = {id(v) for v in model.variables}
    for key, value in (bias or {}).items():
        path = find_path(model, value)
        if path is None or id(value) not in tracked:
            raise Unsupported(f"get_bias()['{key}'] is not a tracked variable of the model")
        bias_paths[key] = path
    if bias_paths:
        ranks = {len(follow(model, p).shape) for p in bias_paths.values()}
        layout = "multi" if len(bias_paths) > 1 else ("vector" if ranks == {1} else "row")
    flags = {"shrink", "save_load", "train", "assign_weights"}
    if has_head:
        flags.add("output_embeddings")
    small = build_model(class_name, 11, tie_arg[sorted(tie_arg)[0]])
    small._probe_input_path = input_path
    p = Probe(input_path, output_path, transposed, bias_paths, frozenset(found), tie_arg, has_head,
              layout, forward, frozenset())
    if _raises(lambda: _scores(small, p, tf.constant([[1, 11, 2]]))) and \
            _raises(lambda: _scores(small, p, tf.constant([[1, -1, 2]]))):
        flags.add("rejects_out_of_range_ids")
    for autograph in (False, True):  # converting transformers' sources costs ~4 s a process
        fn = tf.function(lambda x: _scores(small, p, x), autograph=autograph,
                         input_signature=[tf.TensorSpec([None, None], tf.int32)])
        if not _raises(lambda: fn(tf.constant([[1, 2, 3]]))):
            flags.add("graph_forward")
            break
    if _cached_sizes(small):
        flags.add("cached_vocab_sizes")
    return dataclasses.replace(p, flags=frozenset(flags), graph_autograph=autograph)


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
        if class_name not in tm.class_names():
            raise ValueError(f"{class_name!r} is not in transformers' TF auto mappings "
                             "(see harness.adapters.transformers_models.list_classes())")
        self.class_name = class_name
        self.name = f"transformers/{class_name}"
        self._probe = None
        if reuse_models is None:
            reuse_models = os.environ.get("RESIZE_CONFORMANCE_REUSE_MODELS", "1") != "0"
        self._pool = ModelPool(per_key=2 if reuse_models else 0)

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
                            dtypes=frozenset({"float32"}), flags=p.flags)

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
        key = (int(spec.vocab_size), mode)
        model = self._pool.take(key)
        if model is None:
            model = build_model(self.class_name, spec.vocab_size, p.tie_arg[mode], BUILD_SEED)
            model._probe_input_path = p.input_path
            model._conformance_mode = mode
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
        return model.resize_token_embeddings(new_num_tokens)

    def call(self, model, ids):
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
        return model.config.vocab_size

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
        return named_values(model.variables)

    def read_config(self, model):
        return model.config.to_dict()

    resize_errors = (ValueError, TypeError, tf.errors.InvalidArgumentError)

    # -- optional capabilities -----------------------------------------------------------------
    def save(self, model, path):
        model.save_pretrained(path)

    def load(self, path):
        model = tm.model_class(self.class_name).from_pretrained(path, local_files_only=True)
        model._probe_input_path = self.probe().input_path
        return model

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

