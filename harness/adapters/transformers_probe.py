"""The probe of a transformers TF model class, once per class and process: it builds tiny
models and finds:

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

import dataclasses
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np
import tensorflow as tf

from harness.adapters import transformers_inputs as ti
from harness.adapters import transformers_models as tm
from harness.adapters.transformers_inputs import make_inputs

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
    variables = model.variables  # frozen ones too (e.g. Idefics freezes its text layers by default)
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(variables)
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
        try:
            chosen = _word_weight(model.get_input_embeddings())
        except Exception:  # noqa: BLE001 - a getter that raises cannot tell
            chosen = None
        fed = [v for v in fed if v is chosen] or fed
    if len(fed) != 1:
        sized = [f"{v.name} {list(v.shape)}" for v in model.variables if vocab in tuple(v.shape)]
        return None, Defect(f"{len(fed)} [vocab, width] variables receive a gradient from the forward's "
                            "hidden states (expected 1: the input embedding); variables with a "
                            f"vocab-sized dimension ({vocab}): {', '.join(sized[:4]) or 'none'}"
                            + ("" if ti.takes_token_ids(type(model)) else "; the forward takes no token ids"))
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
            has_head = not _raises(lambda m=model: m.get_output_embeddings()) and model.get_output_embeddings() is not None
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
              layout, forward, frozenset(), defect="; ".join(dict.fromkeys(defects)))
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
