"""Adapter over a transformers TF model class: ``TransformersAdapter("TFBertForMaskedLM")``.

Resize goes through ``model.resize_token_embeddings(n)``; read-back goes to the variables the
probe found (``harness.adapters.transformers_probe``: the input embedding by gradient, the
untied head, the bias dict, tie modes), never through getters. A class without a token
vocabulary raises ``Unsupported`` (not applicable); any other class runs, and what the probe
could not reach raises ``NotDrivable`` in the cases that need it.
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np
import tensorflow as tf

from harness.adapter import Adapter, Capabilities, named_values, sgd_step_on_own_ids
from harness.adapters import transformers_inputs as ti
from harness.adapters import transformers_io as tio
from harness.adapters import transformers_models as tm
from harness.adapters.model_pool import ModelPool
from harness.adapters.transformers_inputs import make_inputs
from harness.adapters.transformers_probe import (  # noqa: F401 - re-exported for callers and tests
    BUILD_SEED,
    PROBE_VOCAB,
    Defect,
    NotDrivable,
    Probe,
    Unsupported,
    _cached_sizes,
    _scores,
    _word_weight,
    build_model,
    find_path,
    follow,
    probe,
)


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

    # -- dtypes and checkpoint formats (harness/adapters/transformers_io.py) ---------------------
    policy = staticmethod(tio.policy)  # the global Keras dtype policy inside a block
    FORMATS = tio.FORMATS
    _DTYPE_PROBES = {}  # class name -> {dtype: None (runs) or the reason it does not}, per process

    def dtype_probe(self):
        """Per policy dtype: None if a tiny model builds under it with its input matrix in that dtype
        and gives finite scores, else the reason (once per class and process)."""
        if self.class_name not in self._DTYPE_PROBES:
            p = self.probe()

            def build():
                model = build_model(self.class_name, 11, p.tie_arg[min(p.tie_arg)], BUILD_SEED)
                model._probe_input_path = p.input_path
                return follow(model, p.input_path), _scores(model, p, tf.constant([[1, 5, 10]]))

            self._DTYPE_PROBES[self.class_name] = tio.probe_dtypes(build)
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
        return {k.removeprefix(scope): v for k, v in named_values(model.variables).items()}

    def read_config(self, model):
        return model.config.to_dict()

    resize_errors = (ValueError, TypeError, tf.errors.InvalidArgumentError)

    # -- optional capabilities -----------------------------------------------------------------
    def save(self, model, path, fmt="h5"):
        tio.save(model, path, fmt)
        self._saved_dtypes[os.path.realpath(path)] = self._dtype(model)

    def load(self, path, fmt="h5"):
        return self.load_report(path, fmt)[0]

    def load_report(self, path, fmt="h5"):
        """The library's own loading report, loading under the dtype policy the model was saved in."""
        dtype = self._saved_dtypes.get(os.path.realpath(path), "float32")
        model, report = tio.load(tm.model_class(self.class_name), path, fmt, dtype)
        model._probe_input_path = self.probe().input_path
        model._conformance_dtype = dtype
        return model, report

    def train_step(self, model, ids, lr=0.5):
        return sgd_step_on_own_ids(self.call, model, ids, lr)

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
        from harness import held

        runners = super().held_runners(model)
        p = self.probe()
        if "keras_logits" in p.flags:
            key = p.forward[1][0]

            def logits(out, ids):
                value = np.asarray(ti.get_path(out, p.forward[1]))
                return value.reshape(tuple(np.shape(ids)) + value.shape[-1:])

            runners.update(held.keras_runners(model, inputs=lambda ids: make_inputs(model, ids), logits=logits,
                                              labels=lambda ids: {key: ids}))
        policy = lambda: self.policy(self._dtype(model))
        return {way: held.within(policy, factory) for way, factory in runners.items()}
