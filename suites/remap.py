"""Vocabulary remap (warm start): rows follow their tokens to new positions, new tokens
get the initializer (bias: zero), every vocabulary source means the same, bad
vocabularies are errors that change nothing, and the result agrees with
``tf.keras.utils.warmstart_embedding_matrix``."""

import os
import pathlib

import numpy as np
import tensorflow as tf
from hypothesis import strategies as st

from harness.checks import check
from harness.compare import expect, expect_close, expect_ok, expect_raises, expect_shape
from suites._model import snapshot
from suites._params import MAX_VOCAB, draw_model

MATRIX_DTYPES = ("float32", "bfloat16", "float16")


def R(old, new, shared, **extra):
    """A fixed remap case: ``shared`` tokens of the ``old`` ones appear among the ``new`` ones."""
    params = {"old": old, "new": new, "shared": shared, "tie": "tied", "bias": "none", "dtype": "float32",
              "width": 4}
    params.update(extra)
    return params


MODEL_CASES = (
    R(8, 10, 6, tie="untied", bias="multi"),   # grow with a reshuffle
    R(10, 6, 4, tie="tied", bias="vector"),    # shrink
    R(6, 6, 6, tie="untied", bias="row"),      # a pure permutation
    R(5, 7, 0, tie="untied", bias="vector"),   # nothing shared
)
MATRIX_CASES = (R(8, 10, 6), R(10, 6, 4, dtype="bfloat16"), R(6, 9, 0, dtype="float16"))
BAD_VOCABS = ("dup_new", "dup_old", "empty_new", "wrong_length", "empty_old", "missing_file")
BAD_CASES = tuple(R(6, 8, 4, bad=b, tie=("untied" if i % 2 else "tied"), bias=("vector" if i % 3 else "none"))
                  for i, b in enumerate(BAD_VOCABS))


def vocabularies(ctx, p):
    """Deterministic (old, new) token lists with ``shared`` common tokens, shuffled."""
    rng = ctx.rng(3)
    old = [f"tok{i}" for i in rng.permutation(p["old"])]
    kept = [old[i] for i in rng.choice(p["old"], size=p["shared"], replace=False)]
    new = kept + [f"new{i}" for i in range(p["new"] - p["shared"])]
    return old, [new[i] for i in rng.permutation(len(new))]


def constant_init(ctx, p, n):
    """An initializer ``(shape, dtype)`` returning fixed values (like ``Constant(values)``) and the values."""
    values = ctx.rng(4).standard_normal((n, p["width"])).astype(np.float32)

    def init(shape, dtype=tf.float32, **_):
        return tf.cast(tf.reshape(tf.constant(values), shape), dtype)

    return init, values


def _strategy(matrix=False):
    def draw(data, caps):
        old = data.draw(st.integers(1, MAX_VOCAB // 2), label="old")
        low = 1 if caps.has("shrink") else old
        new = data.draw(st.integers(low, MAX_VOCAB // 2), label="new")
        params = {"old": old, "new": new,
                  "shared": data.draw(st.integers(0, min(old, new)), label="shared")}
        if matrix:
            dtypes = [d for d in MATRIX_DTYPES if d in caps.dtypes] or ["float32"]
            params["dtype"] = data.draw(st.sampled_from(dtypes), label="dtype")
            params["width"] = data.draw(st.integers(1, 8), label="width")
        else:
            params.update(draw_model(data, caps))
        return params
    return draw


def _remapped(ctx, p, initializer=None):
    a = ctx.adapter
    model = ctx.build(p)
    old, new = vocabularies(ctx, p)
    before = snapshot(a, model)
    expect_ok(lambda: a.remap(model, old, new, initializer), f"remap {p['old']} -> {p['new']} tokens")
    return model, before, snapshot(a, model), old, new


@check("remap.rows_follow_tokens", cases=MODEL_CASES[:3], strategy=_strategy(), requires=("vocab_remap",),
       property="After a remap, the row (input, untied output) and bias entry of every shared token are its "
                "old ones, bit-exact, at its new position; bias entries of new tokens are 0.",
       why="A warm start that copies rows by position gives every reshuffled token another token's vector.")
def rows_follow_tokens(ctx, p):
    model, before, after, old, new = _remapped(ctx, p)
    where = {t: i for i, t in enumerate(old)}
    pairs = [(where[t], j) for j, t in enumerate(new) if t in where]
    src, dst = [i for i, _ in pairs], [j for _, j in pairs]
    mats = [("input", before.input, after.input)]
    if before.output is not None and not before.tied:
        mats.append(("output", before.output, after.output))
    for what, b, a in mats:
        expect_shape(a, [len(new), b.shape[1]], f"{what} matrix")
        expect_close(a[dst], b[src], f"{what} rows of shared tokens at their new positions")
    fresh = [j for j, t in enumerate(new) if t not in where]
    for key, b in (before.bias or {}).items():
        a = after.bias[key]
        expect_shape(a, list(b.shape[:-1]) + [len(new)], f"bias '{key}'")
        expect_close(a[..., dst], b[..., src], f"bias '{key}' entries of shared tokens")
        expect_close(a[..., fresh], np.zeros_like(a[..., fresh]), f"bias '{key}' entries of new tokens")


@check("remap.unmatched_rows_from_initializer", cases=MODEL_CASES[1:2] + MODEL_CASES[3:],
       requires=("vocab_remap",),
       property="With an initializer returning fixed values for shape [len(new), H], each new token's row is "
                "that initializer's row at the token's new index (input and untied output).",
       why="Rows of new tokens must come from the requested initializer, not zeros, -1 or a stale row.")
def unmatched_rows_from_initializer(ctx, p):
    init, values = constant_init(ctx, p, p["new"])
    model, before, after, old, new = _remapped(ctx, p, initializer=init)
    fresh = [j for j, t in enumerate(new) if t not in set(old)]
    mats = [("input", after.input)]
    if after.output is not None and not after.tied:
        mats.append(("output", after.output))
    expected = tf.cast(tf.constant(values[fresh]), p["dtype"]).numpy()
    for what, a in mats:
        expect_close(a[fresh], expected, f"{what} rows of new tokens vs the initializer's rows")


@check("remap.model_consistent", cases=MODEL_CASES[:3], requires=("vocab_remap",),
       property="After a remap, a tied model is still tied (same variable), config.vocab_size and cached sizes "
                "are len(new_vocab), and a forward pass over every new id gives [B, T, len(new)] logits.",
       why="A remap that unties the head, or leaves the config at the old size, breaks training and reloading.")
def model_consistent(ctx, p):
    a = ctx.adapter
    model, before, after, old, new = _remapped(ctx, p)
    expect(after.tied == before.tied, "the tie state changed in the remap", expected=before.tied,
           observed=after.tied)
    expect(after.config_vocab == len(new), f"config vocab_size is {after.config_vocab}, expected {len(new)}",
           expected=len(new), observed=after.config_vocab)
    stale = {k: v for k, v in a.read_cached_vocab_sizes(model).items() if v != len(new)}
    expect(not stale, f"cached vocab sizes not updated: {stale}", expected=len(new), observed=stale)
    ids = ctx.ids_covering(0, len(new))
    logits = expect_ok(lambda: a.forward(model, ids), "forward after the remap")
    expect_shape(logits, list(ids.shape) + [len(new)], "logits")


def _bad_vocabs(ctx, p, old, new):
    bad = p["bad"]
    if bad == "dup_new":
        return old, new[:-1] + [new[0]]
    if bad == "dup_old":
        return old[:-1] + [old[0]], new
    if bad == "empty_new":
        return old, []
    if bad == "empty_old":
        return [], new
    if bad == "wrong_length":
        return old + ["extra-token"], new
    return old, os.path.join(ctx.tmpdir(), "no-such-vocab.txt")


@check("remap.bad_vocab_rejected", cases=BAD_CASES, requires=("vocab_remap",),
       property="A duplicate token in either vocabulary, an empty vocabulary, an old vocabulary whose length is "
                "not the row count, or a missing file raises and changes nothing.",
       why="Duplicates make the mapping ambiguous (Keras silently keeps one); a wrong old vocabulary moves "
           "every row to the wrong token.")
def bad_vocab_rejected(ctx, p):
    a = ctx.adapter
    model = ctx.build(p)
    old, new = _bad_vocabs(ctx, p, *vocabularies(ctx, p))
    before, handles = snapshot(a, model), dict(a.handles(model))
    expect_raises(lambda: a.remap(model, old, new), f"remap with a bad vocabulary ({p['bad']})")
    after = snapshot(a, model)
    for key, obj in handles.items():
        expect(a.handles(model).get(key) is obj, f"weight '{key}' replaced by a rejected remap")
    expect_close(after.input, before.input, "input matrix after a rejected remap")
    expect(after.config_vocab == before.config_vocab, "config vocab_size changed by a rejected remap",
           expected=before.config_vocab, observed=after.config_vocab)


def _matrix(ctx, p):
    return tf.cast(tf.constant(ctx.rng(5).standard_normal((p["old"], p["width"])).astype(np.float32)), p["dtype"])


def _sources(ctx, tokens, tag):
    path = os.path.join(ctx.tmpdir(), f"{tag}.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(tokens) + "\n")
    return {"list": list(tokens), "tuple": tuple(tokens), "numpy_str": np.array(tokens),
            "numpy_object": np.array(tokens, dtype=object), "tensor": tf.constant(tokens),
            "file": path, "pathlib": pathlib.Path(path)}


@check("remap.vocab_sources", cases=MATRIX_CASES[1:2], requires=("vocab_remap",),
       property="remap_matrix gives the same result for a vocabulary given as a list, tuple, NumPy array, string "
                "tensor (bytes), file path (one token per line) or pathlib.Path, also when old and new come "
                "in different forms.",
       why="A string tensor yields bytes: comparing b'tok' with 'tok' silently matches nothing and warm-starts "
           "from scratch.")
def vocab_sources(ctx, p):
    a = ctx.adapter
    old, new = vocabularies(ctx, p)
    matrix = _matrix(ctx, p)
    init, _ = constant_init(ctx, p, p["new"])
    want = np.asarray(expect_ok(lambda: a.remap_matrix(old, new, matrix, init), "remap_matrix(list, list)"))
    olds, news = _sources(ctx, old, "old"), _sources(ctx, new, "new")
    for kind in olds:
        for label, o, n in ((f"old as {kind}", olds[kind], new), (f"new as {kind}", old, news[kind])):
            got = expect_ok(lambda o=o, n=n: a.remap_matrix(o, n, matrix, init), f"remap_matrix with {label}")
            expect_close(np.asarray(got), want, f"remap_matrix with {label} (the other a list) vs both lists")


def _no_warmstart(caps, params):
    try:
        import tf_keras
    except ImportError:
        return "tf_keras is not installed: no tf.keras.utils.warmstart_embedding_matrix to compare with"
    if not hasattr(tf_keras.utils, "warmstart_embedding_matrix"):
        return f"tf_keras {tf_keras.__version__} has no utils.warmstart_embedding_matrix"
    return None


@check("remap.matches_keras_warmstart", cases=MATRIX_CASES, strategy=_strategy(matrix=True),
       requires=("vocab_remap",), applies=_no_warmstart,
       property="For duplicate-free vocabularies and a Constant initializer, remap_matrix equals "
                "tf_keras.utils.warmstart_embedding_matrix exactly (shape, dtype, values).",
       why="Differential check against the documented Keras utility: same inputs, same warm-started matrix.")
def matches_keras_warmstart(ctx, p):
    import tf_keras

    a = ctx.adapter
    old, new = vocabularies(ctx, p)
    matrix = _matrix(ctx, p)
    init, values = constant_init(ctx, p, p["new"])
    want = tf_keras.utils.warmstart_embedding_matrix(
        old, new, matrix, new_embeddings_initializer=tf_keras.initializers.Constant(values)).numpy()
    got = np.asarray(expect_ok(lambda: a.remap_matrix(old, new, matrix, init), "remap_matrix"))
    expect(str(got.dtype) == str(want.dtype), f"dtype {got.dtype}, Keras gives {want.dtype}",
           expected=str(want.dtype), observed=str(got.dtype))
    expect_close(got, want, "remap_matrix vs tf_keras.utils.warmstart_embedding_matrix")
