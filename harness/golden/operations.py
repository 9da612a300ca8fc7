"""The registry of golden operations: how the reference computes a case's expected result.

An operation is a function ``generate(parameters, seed) -> (arrays, expected)``: ``arrays``
maps ``input.<name>`` / ``expected.<name>`` to NumPy arrays (inputs drawn from
``np.random.default_rng(seed)``, results computed by ``reference/``); ``expected`` holds
small JSON scalars (e.g. the tie state after a model resize). Register a new one with
``@register_operation(name, ...)`` and add cases to ``harness.golden.cases``.

Operations of the newer reference modules (pad_to_multiple_of, mean-init, remap, width) are
registered too; an RNN-cell operation would register the same way.
"""

import dataclasses
from collections.abc import Callable

import numpy as np

OPERATIONS = {}
TOLERANCES = {"float32": 1e-6, "float64": 1e-12, "float16": 1e-4, "bfloat16": 5e-4}


@dataclasses.dataclass(frozen=True)
class Operation:
    name: str
    generate: Callable
    description: str
    check: str = ""      # the golden suite check that replays it against an adapter ("" = none yet)


def register_operation(name, *, description, check=""):
    def decorate(func):
        if name in OPERATIONS and OPERATIONS[name].generate is not func:
            raise ValueError(f"duplicate golden operation {name!r}")
        OPERATIONS[name] = Operation(name, func, description, check)
        return func
    return decorate


def get(name):
    if name not in OPERATIONS:
        raise KeyError(f"unknown golden operation {name!r}; known: {sorted(OPERATIONS)}")
    return OPERATIONS[name]


def default_tolerance(dtype):
    """Absolute tolerance for the *random* new rows (a float32 ulp-level change in TF's RNG
    may flip the last bit after a cast to float16/bfloat16); kept rows must be bit-exact anyway."""
    return {"atol": TOLERANCES[dtype], "rtol": 0.0}


def _tf():
    import tensorflow as tf

    return tf


def _cast(values, dtype):
    tf = _tf()
    return tf.cast(tf.constant(values.astype(np.float32)), dtype).numpy()


def _numpy(value):
    return value.numpy() if hasattr(value, "numpy") else np.asarray(value)


BIAS_KEYS = {"none": (), "vector": (("bias", 1),), "row": (("final_logits_bias", 2),),
             "multi": (("bias", 1), ("final_logits_bias", 2))}


def _bias_inputs(rng, layout, old, dtype):
    out = {}
    for key, rank in BIAS_KEYS[layout]:
        shape = (old,) if rank == 1 else (1, old)
        out[key] = _cast(rng.normal(0.0, 0.1, size=shape), dtype)
    return out


# -- built-in operations ---------------------------------------------------------------
@register_operation("resize_matrix", check="golden.matrix_resize",
                    description="reference.resize_matrix(matrix, new, seed=resize_seed) on a [old, width] matrix")
def resize_matrix_op(p, seed):
    from reference import resize_matrix

    rng = np.random.default_rng(seed)
    matrix = _cast(rng.standard_normal((p["old"], p["width"])), p["dtype"])
    result = resize_matrix(matrix, p["new"], seed=p["resize_seed"],
                           initializer_range=p.get("initializer_range", 0.02))
    return {"input.matrix": matrix, "expected.matrix": _numpy(result)}, {}


@register_operation("resize_bias", check="golden.bias_resize",
                    description="reference.resize_bias_dict(bias, new) on a bias dict of a layout")
def resize_bias_op(p, seed):
    from reference import resize_bias_dict

    rng = np.random.default_rng(seed)
    bias = _bias_inputs(rng, p["bias"], p["old"], p["dtype"])
    result = resize_bias_dict({k: _tf().constant(v) for k, v in bias.items()}, p["new"])
    arrays = {f"input.bias:{k}": v for k, v in bias.items()}
    arrays.update({f"expected.bias:{k}": _numpy(v) for k, v in result.items()})
    return arrays, {}


@register_operation("resize_model", check="golden.model_resize",
                    description="ReferenceCausalLM.resize_token_embeddings(new, seed=resize_seed) on a model "
                                "holding the stored input/output/bias weights")
def resize_model_op(p, seed):
    from reference.causal_lm import ReferenceCausalLM, ReferenceConfig

    rng = np.random.default_rng(seed)
    config = ReferenceConfig(vocab_size=p["old"], hidden_size=p["width"], tie_word_embeddings=p["tie"] == "tied",
                             bias_layout=p["bias"], dtype=p["dtype"], seed=0)
    model = ReferenceCausalLM(config)
    weights = {"input": _cast(rng.standard_normal((p["old"], p["width"])), p["dtype"])}
    if p["tie"] == "untied":
        weights["output"] = _cast(rng.standard_normal((p["old"], p["width"])), p["dtype"])
    weights.update({f"bias:{k}": v for k, v in _bias_inputs(rng, p["bias"], p["old"], p["dtype"]).items()})
    live = live_weights(model)
    for which, values in weights.items():
        live[which].assign(values)
    model.resize_token_embeddings(p["new"], seed=p["resize_seed"])
    arrays = {f"input.{k}": v for k, v in weights.items()}
    arrays.update({f"expected.{k}": _numpy(v) for k, v in live_weights(model).items()
                   if not (k == "output" and p["tie"] == "tied")})
    tied = model.get_output_embeddings() is model.get_input_embeddings()
    return arrays, {"tied": tied, "vocab_size": int(model.config.vocab_size)}


def live_weights(model):
    """The reference model's weights by adapter name (``input``, ``output``, ``bias:<key>``)."""
    out = {"input": model.get_input_embeddings()}
    if model.get_output_embeddings() is not None:
        out["output"] = model.get_output_embeddings()
    out.update({f"bias:{k}": v for k, v in (model.get_bias() or {}).items()})
    return out


# -- operations of the newer reference modules (no suite check replays them yet: the stored
# truth is kept and verified by `golden check`; a check can replay them like golden.matrix_resize).
# Extension point: an RNN-cell operation (reference/rnn.py) registers here the same way.
@register_operation("pad_to_multiple_of",
                    description="reference.resize_matrix(matrix, padded_num_tokens(new, multiple), seed=resize_seed)")
def pad_to_multiple_op(p, seed):
    from reference import resize_matrix
    from reference.pad import padded_num_tokens

    rng = np.random.default_rng(seed)
    matrix = _cast(rng.standard_normal((p["old"], p["width"])), p["dtype"])
    n = padded_num_tokens(p["new"], p["pad_to_multiple_of"])
    result = resize_matrix(matrix, n, seed=p["resize_seed"])
    return {"input.matrix": matrix, "expected.matrix": _numpy(result)}, {"padded_size": int(n)}


@register_operation("mean_resize_matrix",
                    description="reference.mean_init.mean_resize_matrix(matrix, new, seed=resize_seed)")
def mean_resize_op(p, seed):
    from reference.mean_init import mean_resize_matrix

    rng = np.random.default_rng(seed)
    matrix = _cast(rng.standard_normal((p["old"], p["width"])), p["dtype"])
    result = mean_resize_matrix(matrix, p["new"], seed=p["resize_seed"])
    return {"input.matrix": matrix, "expected.matrix": _numpy(result)}, {}


@register_operation("remap_matrix",
                    description="reference.remap.remap_matrix(old_vocab, new_vocab, matrix, seed=resize_seed)")
def remap_op(p, seed):
    from reference.remap import remap_matrix

    rng = np.random.default_rng(seed)
    matrix = _cast(rng.standard_normal((len(p["old_vocab"]), p["width"])), p["dtype"])
    result = remap_matrix(p["old_vocab"], p["new_vocab"], matrix, seed=p["resize_seed"])
    return {"input.matrix": matrix, "expected.matrix": _numpy(result)}, {}


@register_operation("resize_width", description="reference.width.resize_width(matrix, new_width)")
def resize_width_op(p, seed):
    from reference.width import resize_width

    rng = np.random.default_rng(seed)
    matrix = _cast(rng.standard_normal((p["rows"], p["old_width"])), p["dtype"])
    result = resize_width(matrix, p["new_width"])
    return {"input.matrix": matrix, "expected.matrix": _numpy(result)}, {}
