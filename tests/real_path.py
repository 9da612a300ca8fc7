"""Helpers for the real-path mutants (tests/real_mutants.py): inject a defect into transformers'
own resize for one call, and run a mutant against the unmutated class.

Injection shadows, on the model instance and for the duration of one ``resize``, a step of
transformers' resize path (``modeling_tf_utils.py``, ``TFPreTrainedModel``): the v1 path
(``_resize_token_embeddings``: ``_get_resized_embeddings``, ``_get_resized_lm_head_bias``,
``_get_resized_lm_head_decoder``), taken when the input embeddings are not a keras Embedding
(BERT, RemBERT), or the v2 path (``_v2_resize_token_embeddings``: ``_v2_get_resized_embeddings``,
``_v2_get_resized_lm_head_bias``; GPT-2, BART, T5).

``ClassSession`` holds one class's unmutated adapter, a model pool its mutants share, and the
unmutated result of each case, run lazily: a mutant is judged only on cases that pass unmutated.
"""

import contextlib
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np
import tensorflow as tf

from harness.adapters.transformers_adapter import TransformersAdapter

BERT, BART, GPT2, T5 = ("TFBertForMaskedLM", "TFBartForConditionalGeneration", "TFGPT2LMHeadModel",
                        "TFT5ForConditionalGeneration")
REMBERT = "TFRemBertForMaskedLM"  # the only cheap class whose untied head resizes (untied.*)
V2 = (BART, GPT2, T5)             # input embeddings are a keras Embedding: the _v2_* path
ALL_FOUR = (BERT, BART, GPT2, T5)
BIASED = (BERT, BART)             # BERT: mlm bias [V] (trainable); BART: final_logits_bias [1, V] (frozen)

# Families the transformers adapter does not run on any class, and why (verified per class by the tests).
NOT_OFFERED = {
    "golden": "golden files need load_matrix and reference_rng: exact stored weights and the reference's RNG",
    "matrix": "no bare-matrix resize (capability matrix_resize)",
    "mean_init": "TF resize_token_embeddings has no mean-resizing option (capability mean_resizing)",
    "pad": "TF resize_token_embeddings has no pad_to_multiple_of (capability pad_to_multiple_of)",
    "remap": "no vocabulary remap / warm start (capability vocab_remap)",
    "rnn": "no RNN cells (capability rnn_cells)",
    "width": "no hidden-size resize (capability width_resize)",
}
# Families that run but fail on every unmutated class, so no injected defect can be told apart:
# family -> (the class the tests verify it on, why).
FAILS_UNMUTATED = {
    "held": (GPT2, "transformers' resize replaces the vocabulary-sized variables instead of writing into them, "
                   "so whatever was traced or compiled before it keeps the old ones (manifest: modeling_tf_utils.py "
                   "TFPreTrainedModel.resize_token_embeddings)"),
}


def keras():
    from transformers.modeling_tf_utils import keras

    return keras


def is_v2(model):
    """transformers takes the ``_v2_*`` resize path when the input embeddings are a keras Embedding."""
    return isinstance(model.get_input_embeddings(), keras().layers.Embedding)


@contextlib.contextmanager
def shadow(obj, name, make):
    """``obj.name`` is ``make(original)`` on the instance until exit (bypasses Keras tracking)."""
    state, missing = vars(obj), object()
    saved = state.get(name, missing)
    state[name] = make(getattr(obj, name))
    try:
        yield
    finally:
        if saved is missing:
            state.pop(name, None)
        else:
            state[name] = saved


def after_step(model, name, edit):
    """Shadow resize step ``name``: its result goes through ``edit(result, *args)``."""

    def make(original):
        def step(*args, **kwargs):
            return edit(original(*args, **kwargs), *args, **kwargs)

        return step

    return shadow(model, name, make)


def embeddings_step(model):
    return "_v2_get_resized_embeddings" if is_v2(model) else "_get_resized_embeddings"


def edit_new_matrix(model, edit):
    """After the embedding-matrix step (v1 or v2), rewrite the new matrix: ``edit(values, old_rows)``."""
    v2 = is_v2(model)

    def apply(result, old, *_a, **_k):
        var = result.embeddings if v2 else result
        old_rows = int((old.embeddings if v2 else old).shape[0])
        var.assign(edit(var.numpy().copy(), old_rows).astype(var.dtype.as_numpy_dtype))
        return result

    return after_step(model, embeddings_step(model), apply)


def edit_new_bias(model, edit):
    """After the LM-head bias step (v1 or v2), rewrite each entry: ``edit(values, old_len)``."""
    name = "_v2_get_resized_lm_head_bias" if is_v2(model) else "_get_resized_lm_head_bias"

    def apply(result, old_bias, *_a, **_k):
        out = {}
        for key, value in result.items():
            new = edit(np.array(value).copy(), int(old_bias[key].shape[-1])).astype(np.float32)
            if isinstance(value, tf.Variable):
                value.assign(new)
                out[key] = value
            else:
                out[key] = tf.constant(new, dtype=value.dtype)
        return out

    return after_step(model, name, apply)


class RealMutant(TransformersAdapter):
    """The transformers adapter with one defect installed around each resize (see module doc)."""

    classes = ()
    kills = {}               # check id -> substring of the failure message
    description = ""         # the defect, on one line
    already_in_library = ""  # non-empty: the unmutated classes already have this defect (why)
    only_cases = {}          # check id -> case-id substrings: run only the cases that exercise the defect
    only_on = {}             # check id -> the classes it is claimed on (default: all of ``classes``)

    def __init__(self, class_name, pool=None):
        super().__init__(class_name)
        if pool is not None:  # share built models with other adapters of the class
            self._pool = pool
        self.name = f"real-mutant-{type(self).__name__}/{class_name}"

    @classmethod
    def kills_on(cls, class_name):
        """``kills`` restricted to the checks claimed on ``class_name``."""
        return {k: v for k, v in cls.kills.items() if class_name in cls.only_on.get(k, cls.classes)}

    @classmethod
    def describe_defect(cls):
        """The defect, on one line (``description``)."""
        return cls.description

    def inject(self, model, new_num_tokens):
        """A context manager that installs the defect for one resize."""
        return contextlib.nullcontext()

    def resize(self, model, new_num_tokens):
        with self.inject(model, new_num_tokens):
            return super().resize(model, new_num_tokens)  # model.resize_token_embeddings(n)


# -- running -------------------------------------------------------------------------------------
CASES_PER_CHECK = 2                               # baseline-passing example cases run per check
FEWER = {"saveload": 1, "dynamic": 1, "train": 1, "held": 1}  # families with expensive cases


def _runner(adapter):
    from harness.runner import Runner

    return Runner(adapter, profile="dev", seed=0, shrink=False)


class ClassSession:
    """One real class: its unmutated adapter, a model pool every mutant of the class shares, and
    the unmutated result of each case (run lazily): the baseline a mutant is judged against. A
    case that does not pass unmutated (a real defect, see the manifest) cannot show a mutant."""

    def __init__(self, class_name):
        self.class_name = class_name
        self.base = TransformersAdapter(class_name)
        self.runner = _runner(self.base)
        self.plan = [c for c in self.runner.plan() if c.kind == "example"]
        self.baseline = {}

    def applicable_checks(self):
        return sorted({c.check.id for c in self.plan if not c.na_reason})

    def unmutated(self, case):
        if case.id not in self.baseline:
            self.baseline[case.id] = self.runner.run([case])[0]
        return self.baseline[case.id]

    def cases_for(self, check_id, only=(), limit=None):
        """The first ``limit`` applicable example cases of ``check_id`` (whose id contains one of
        ``only``, if given) that pass on the unmutated class."""
        limit = limit or FEWER.get(check_id.split(".")[0], CASES_PER_CHECK)
        chosen = []
        for case in self.plan:
            if case.check.id != check_id or case.na_reason or (only and not any(s in case.id for s in only)):
                continue
            if self.unmutated(case).status == "passed":
                chosen.append(case)
                if len(chosen) >= limit:
                    break
        return chosen

    def run(self, mutant_cls, checks=None, limit=None):
        """Results of ``mutant_cls`` on the chosen cases of ``checks`` (default: the ones it kills)."""
        checks = list(mutant_cls.kills_on(self.class_name)) if checks is None else list(checks)
        only = getattr(mutant_cls, "only_cases", {})
        ids = {c.id for chk in checks for c in self.cases_for(chk, only.get(chk, ()), limit)}
        runner = _runner(mutant_cls(self.class_name, pool=self.base._pool))
        return runner.run([c for c in runner.plan() if c.id in ids])
