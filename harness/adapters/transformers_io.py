"""Checkpoint formats and dtype policies for the transformers adapter.

Formats are those of ``TFPreTrainedModel.save_pretrained`` / ``from_pretrained`` (transformers
modeling_tf_utils.py): ``h5`` (``safe_serialization=False``, Keras ``save_weights``),
``safetensors`` (``safe_serialization=True``), and both sharded (``max_shard_size``: an index
file plus shards, loaded by ``load_tf_sharded_weights*``). A float16 / bfloat16 model is built,
resized, run and loaded under that global Keras dtype policy, as a user who runs it sets it.
"""

import contextlib
import os

import numpy as np
import tensorflow as tf

FORMATS = ("h5", "safetensors", "h5_sharded", "safetensors_sharded")
POLICY_DTYPES = ("float16", "bfloat16")


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


def probe_dtypes(build):
    """``{dtype: None (runs) or the reason it does not}`` for each policy dtype; ``build()`` returns
    ``(input matrix variable, scores)`` of a tiny model built and run under the active policy."""
    out = {}
    for dtype in POLICY_DTYPES:
        try:
            with policy(dtype):
                matrix, scores = build()
            got = matrix.dtype.name
            finite = bool(np.isfinite(np.asarray(tf.cast(scores, tf.float32))).all())
            out[dtype] = (f"under the {dtype} policy the input matrix is {got}" if got != dtype else
                          None if finite else f"non-finite scores under the {dtype} policy")
        except Exception as exc:  # noqa: BLE001 - a class that cannot run in a dtype lacks it
            out[dtype] = f"{type(exc).__name__}: {str(exc).strip()[:160]}"
    return out


def _check(fmt):
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (offers {FORMATS})")


def save(model, path, fmt):
    _check(fmt)
    kwargs = {}
    if fmt.endswith("_sharded"):  # about two shards: the sharded path without a gc.collect() per tiny shard
        kwargs["max_shard_size"] = sum(int(np.prod(w.shape)) * w.dtype.size for w in model.weights) // 2 + 1
    model.save_pretrained(path, safe_serialization=fmt.startswith("safetensors"), **kwargs)
    if fmt.endswith("_sharded") and not any(f.endswith(".index.json") for f in os.listdir(path)):
        raise RuntimeError(f"save_pretrained(max_shard_size={kwargs['max_shard_size']}) wrote no sharded checkpoint")


def load(cls, path, fmt, dtype):
    """``cls.from_pretrained(..., output_loading_info=True)`` from ``fmt`` only (``use_safetensors``),
    under the ``dtype`` policy: ``(model, {"missing": [...], "unexpected": [...], "mismatched": [...]})``."""
    _check(fmt)
    with policy(dtype):
        model, info = cls.from_pretrained(path, local_files_only=True, output_loading_info=True,
                                          use_safetensors=fmt.startswith("safetensors"))
    report = {k.replace("_keys", ""): sorted(str(x) for x in info.get(k) or ())
              for k in ("missing_keys", "unexpected_keys", "mismatched_keys")}
    if fmt == "h5":
        _drop_weightless_layers(report, model, os.path.join(path, "tf_model.h5"))
    return model, report


def _drop_weightless_layers(report, model, h5_path):
    """The whole-file h5 report compares top-level *layer names*
    (modeling_tf_utils.py ``load_tf_weights_from_h5``), so a layer without weights whose name Keras
    numbers per process (``keras.layers.Dropout`` without a name, e.g. in TFAlbertForMultipleChoice:
    ``dropout_234`` saved, ``dropout_275`` rebuilt) is listed although no weight is missing or
    unexpected. Such names are dropped; a name that holds a weight stays."""
    import h5py

    model_layers = {layer.name: layer for layer in model.layers}
    with h5py.File(h5_path, "r") as fh:
        saved_empty = {name for name in fh.keys()
                       if isinstance(fh[name], h5py.Group) and len(fh[name].attrs.get("weight_names", ())) == 0}
    report["unexpected"] = [n for n in report["unexpected"] if n not in saved_empty]
    report["missing"] = [n for n in report["missing"] if not (n in model_layers and not model_layers[n].weights)]
