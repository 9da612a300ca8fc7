"""keras_hub_resize on tiny keras-hub task models, the keras_hub adapter's class list, the docs example."""

import os
import pathlib
import re
import types

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
keras_hub = pytest.importorskip("keras_hub")
keras = pytest.importorskip("keras")

from harness.adapters import keras_hub_models as km  # noqa: E402
from keras_hub_resize import VocabularyMismatchError, find, resize_token_embeddings  # noqa: E402
from reference.errors import ResizeError  # noqa: E402

PAGE = pathlib.Path(__file__).resolve().parents[1] / "docs" / "keras-hub.md"


def _logits(lm, ids):
    from harness.adapters.keras_hub_adapter import task_inputs

    return np.asarray(lm(task_inputs(lm, ids), training=False))


def _weights(lm):
    return [(v.path, tuple(v.shape)) for v in lm.weights]


def test_every_task_class_is_listed_and_certify_enumerates_them():
    from harness.certify import subjects

    names = km.class_names()
    assert len(names) == 43 and "GPT2CausalLM" in names and "CausalLM" not in names
    assert [s.name for s in subjects("keras_hub")] == names
    assert all(s.adapter_spec == f"keras_hub/{s.name}" for s in subjects("keras_hub"))
    with pytest.raises(ValueError, match="not keras_hub task classes"):
        subjects("keras_hub", ["NoSuchCausalLM"])


def test_tied_grow_shrink_and_keras_file_reload(tmp_path):
    keras.utils.set_random_seed(0)
    lm = km.build_task("GPT2CausalLM", 10)
    ids = np.array([[1, 2, 3, 9]], np.int32)
    before, rows = _logits(lm, ids), lm.backbone.token_embedding.embeddings.numpy()
    resize_token_embeddings(lm, 15, seed=0)
    assert lm.backbone.vocabulary_size == 15 and lm.backbone.get_config()["vocabulary_size"] == 15
    assert np.array_equal(lm.backbone.token_embedding.embeddings.numpy()[:10], rows)
    after = _logits(lm, np.array([[1, 2, 3, 14]], np.int32))
    assert after.shape == (1, 4, 15)
    np.testing.assert_allclose(_logits(lm, ids)[..., :10], before, atol=1e-6)
    assert _weights(lm) == _weights(km.build_task("GPT2CausalLM", 15))  # same variables, same order
    lm.save(tmp_path / "lm.keras")
    again = keras.models.load_model(tmp_path / "lm.keras")
    np.testing.assert_array_equal(_logits(again, ids), _logits(lm, ids))
    resize_token_embeddings(lm, 6)
    assert lm.backbone.token_embedding.embeddings.shape == (6, 8) and lm.backbone.token_embedding.input_dim == 6


def test_untied_head_resized_on_its_own_and_preset_reload(tmp_path):
    lm = km.build_task("LlamaCausalLM", 10, tie=False)
    layer = lm.backbone.token_embedding
    head = layer.reverse_embeddings.numpy()
    resize_token_embeddings(lm, 13, seed=0)
    assert layer.reverse_embeddings.shape == (8, 13) and layer.reverse_embeddings is not layer.embeddings
    assert np.array_equal(layer.reverse_embeddings.numpy()[:, :10], head)
    lm.save_to_preset(str(tmp_path / "preset"))
    again = keras_hub.models.LlamaCausalLM.from_preset(str(tmp_path / "preset"))
    assert again.backbone.vocabulary_size == 13
    ids = np.array([[0, 5, 12]], np.int32)
    np.testing.assert_array_equal(_logits(again, ids), _logits(lm, ids))


def test_masked_lm_bias_padding_and_mean_resizing():
    lm = km.build_task("BertMaskedLM", 10)
    head = lm.get_layer("mlm_head")
    head._bias.assign(np.arange(1, 11, dtype=np.float32))
    resize_token_embeddings(lm, 11, pad_to_multiple_of=8)
    assert head.vocabulary_size == 16 and head._bias.shape == (16,)
    assert np.array_equal(head._bias.numpy(), np.r_[np.arange(1, 11), np.zeros(6)].astype(np.float32))
    resize_token_embeddings(lm, 20, mean_resizing=True, seed=0)
    assert np.allclose(head._bias.numpy()[16:], head._bias.numpy()[:16].mean())
    assert _logits(lm, np.array([[1, 19]], np.int32)).shape == (1, 2, 20)


def test_failed_resize_changes_nothing():
    lm = km.build_task("BertMaskedLM", 10)
    emb = lm.backbone.token_embedding
    emb.embeddings.assign(np.where(np.arange(10)[:, None] == 3, np.nan, emb.embeddings.numpy()))
    state = {v.path: v.numpy() for v in lm.weights}
    variables = [id(v) for v in lm.weights]
    for bad in (0, -1, 2.5, True, "12"):
        with pytest.raises((ResizeError, TypeError, ValueError)):
            resize_token_embeddings(lm, bad)
    with pytest.raises(ResizeError, match="NaN|Inf|non-finite|nonfinite"):
        resize_token_embeddings(lm, 14)
    assert [id(v) for v in lm.weights] == variables and lm.backbone.vocabulary_size == 10
    for v in lm.weights:
        np.testing.assert_array_equal(v.numpy(), state[v.path])


def test_tokenizer_larger_than_new_size_is_refused():
    lm = km.build_task("GPT2CausalLM", 10)
    tokenizer = types.SimpleNamespace(vocabulary_size=lambda: 12)
    object.__setattr__(lm, "_preprocessor_stub", types.SimpleNamespace(tokenizer=tokenizer))
    lm.__class__ = type("StubbedLM", (type(lm),), {"preprocessor": property(lambda self: self._preprocessor_stub)})
    with pytest.raises(VocabularyMismatchError, match=r"12 tokens .* size is 9: 3 token id"):
        resize_token_embeddings(lm, 9)
    assert lm.backbone.vocabulary_size == 10
    resize_token_embeddings(lm, 12)
    assert find(lm).size == 12


def test_docs_keras_hub_example_runs(tmp_path, monkeypatch):
    text = PAGE.read_text(encoding="utf-8")
    section = text[text.index("## Resize"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    code = code.replace("/tmp/resized-lm", str(tmp_path / "resized-lm"))
    exec(compile(code, "docs/keras-hub.md[keras-hub example]", "exec"), {})


@pytest.mark.parametrize(("name", "width"), [("GPT2CausalLM", 3), ("LlamaCausalLM", 6), ("LlamaCausalLM", 5),
                                             ("AlbertMaskedLM", 2), ("GPTNeoXCausalLM", 12)])
def test_build_honours_the_width(name, width):
    lm = km.build_task(name, 7, width=width)
    assert tuple(find(lm).axes[0].variable.shape) == (7, width)
    assert _logits(lm, np.array([[1, 6]], np.int32)).shape == (1, 2, 7)


def test_a_width_the_architecture_cannot_have_says_why():
    with pytest.raises(km.NotBuildable, match="LlamaCausalLM: no backbone of hidden size 3: .*even head size"):
        km.build_task("LlamaCausalLM", 7, width=3)
    with pytest.raises(km.NotBuildable, match="hidden size 1 shows anything"):
        km.build_task("GPT2CausalLM", 7, width=1)
    lm = km.build_task("LlamaCausalLM", 7, width=3, nearest=True)  # a fixed case: the next width it can have
    assert lm.backbone.hidden_dim == 4 and lm._conformance_width_note[:2] == (3, 4)
    for name, why in km.NOT_CONFIGURED.items():
        with pytest.raises(km.NotBuildable, match=re.escape(why[:40])):
            km.build_task(name, 7)


def test_a_property_example_with_such_a_width_is_redrawn():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    built = []

    @settings(max_examples=6, database=None, derandomize=True, deadline=None)
    @given(st.sampled_from([3, 4]))
    def prop(width):
        built.append(int(km.build_task("LlamaCausalLM", 5, width=width).backbone.hidden_dim))

    prop()
    assert built and set(built) == {4}


def test_vocabulary_equal_to_the_width_is_not_mistaken_for_a_part():
    lm = km.build_task("BertMaskedLM", 1, width=4)  # mlm_head/intermediate_dense/kernel is [4, 4]
    resize_token_embeddings(lm, 4, mean_resizing=True, seed=0)
    assert find(lm).size == 4 and lm.get_layer("mlm_head")._bias.shape == (4,)


def test_paligemma_is_driven_with_an_image():
    from harness.adapter import ModelSpec
    from harness.adapters.keras_hub_adapter import KerasHubAdapter

    a = KerasHubAdapter("PaliGemmaCausalLM")
    lm = a.build(ModelSpec(vocab_size=9))
    a.resize(lm, 12)
    assert a.forward(lm, np.array([[1, 11, 2]], np.int32)).shape == (1, 3, 12)


def test_keras_wraps_id_minus_one_to_the_last_row():
    """manifests/keras_hub.toml ids.out_of_range_rejected: keras/src/backend/tensorflow/numpy.py take()
    wraps negative ids; when this fails, keras fixed it and the entry goes."""
    lm = km.build_task("GPT2CausalLM", 10)
    minus_one, last = (_logits(lm, np.array([[1, i]], np.int32)) for i in (-1, 9))
    np.testing.assert_array_equal(minus_one, last)


# -- the classes assembled from sub-models or with layouts of their own (keras_hub_resize/layouts.py) ---------
@pytest.mark.parametrize("name", ["BLIP2CausalLM", "BLIP2Seq2SeqLM"])
def test_blip2_resize_reaches_the_language_model(name, tmp_path):
    lm = km.build_task(name, 9)
    parts = find(lm)
    assert parts.config_key == "vocabulary_size" and parts.size == 9
    rows = lm.backbone.token_embedding.embeddings.numpy()
    head = lm.backbone.language_model.lm_head.kernel.numpy() if name == "BLIP2Seq2SeqLM" else None
    resize_token_embeddings(lm, 12, seed=0)
    assert lm.backbone.get_config()["language_model"]["config"]["vocabulary_size"] == 12
    assert np.array_equal(lm.backbone.token_embedding.embeddings.numpy()[:9], rows)
    if head is not None:  # BLIP2FlanT5's own Dense lm_head (the T5 table is tied, the task uses the head)
        new_head = lm.backbone.language_model.lm_head
        assert new_head.units == 12 and np.array_equal(new_head.kernel.numpy()[:, :9], head)
    assert _logits(lm, np.array([[1, 11, 2]], np.int32)).shape == (1, 3, 12)  # with an image


def test_blip2_sub_models_drop_their_dtype():
    """manifests/keras_hub.toml dtype.saveload_keeps_dtype (BLIP2*): keras/src/models/functional.py
    Functional.__init__ drops ``dtype``, so BLIP2's sub-models record float32 and reload so."""
    lm = km.build_task("BLIP2CausalLM", 9, dtype="float16")
    encoder = lm.backbone.vision_encoder
    assert {v.dtype for v in encoder.weights} == {"float16"} and encoder.dtype_policy.name == "float32"
    again = keras_hub.models.BLIP2Backbone.from_config(lm.backbone.get_config())
    assert {v.dtype for v in again.vision_encoder.weights} == {"float32"}


def test_parseq_keeps_its_two_special_rows_last_and_its_head_two_short():
    lm = km.build_task("PARSeqCausalLM", 10)
    table, head = lm.backbone.decoder.token_embedding, lm.backbone.head
    rows, kernel = table.embeddings.numpy(), head.kernel.numpy()
    head.bias.assign(np.arange(1, 9, dtype=np.float32))
    assert find(lm).specials == 2 and head.units == 8
    resize_token_embeddings(lm, 13, seed=0)
    new_rows = table.embeddings.numpy()
    assert new_rows.shape == (13, 8) and np.array_equal(new_rows[:8], rows[:8])
    assert np.array_equal(new_rows[11:], rows[8:])  # [B] and [P] moved to the end
    assert head.units == 11 and np.array_equal(head.kernel.numpy()[:, :8], kernel)
    assert np.array_equal(head.bias.numpy(), np.r_[np.arange(1, 9), np.zeros(3)].astype(np.float32))
    assert lm.backbone.vocabulary_size == lm.backbone.decoder.vocabulary_size == 13
    resize_token_embeddings(lm, 12, pad_to_multiple_of=4)  # the head's 10 ids round up to 12
    assert head.units == 12 and lm.backbone.vocabulary_size == 14
    resize_token_embeddings(lm, 5)
    assert np.array_equal(table.embeddings.numpy()[[0, 1, 2, 3, 4]], np.r_[rows[:3], rows[8:]])
    with pytest.raises(ResizeError, match="leaves no ordinary token"):
        resize_token_embeddings(lm, 2)
    assert head.units == 3


def test_parseq_adapter_speaks_in_the_ids_its_head_predicts():
    from harness.adapter import ModelSpec
    from harness.adapters.keras_hub_adapter import KerasHubAdapter

    a = KerasHubAdapter("PARSeqCausalLM")
    lm = a.build(ModelSpec(vocab_size=6))
    assert lm.backbone.vocabulary_size == 8 and a.read_input_matrix(lm).shape == (6, 8)
    a.resize(lm, 9)
    assert a.read_config_vocab_size(lm) == 9 and set(a.read_cached_vocab_sizes(lm).values()) == {9}
    assert a.forward(lm, np.array([[0, 8, 3]], np.int32)).shape == (1, 3, 9)
    import tensorflow as tf

    with pytest.raises(tf.errors.InvalidArgumentError):  # id 9 is past the specials: out of range
        a.forward(lm, np.array([[0, 9, 3]], np.int32))


def test_parseq_task_without_preprocessor_cannot_be_reloaded(tmp_path):
    """manifests/keras_hub.toml saveload (PARSeqCausalLM): keras_hub/src/models/parseq/parseq_causal_lm.py
    PARSeqCausalLM.compile reads self.preprocessor.tokenizer; when this passes, keras-hub fixed it."""
    lm = km.build_task("PARSeqCausalLM", 10)
    lm.save_to_preset(str(tmp_path / "preset"))
    with pytest.raises(AttributeError, match="tokenizer"):
        keras_hub.models.PARSeqCausalLM.from_preset(str(tmp_path / "preset"))
    assert keras_hub.models.PARSeqBackbone.from_preset(str(tmp_path / "preset")).vocabulary_size == 10


def test_gemma3n_per_layer_table_follows_the_vocabulary():
    lm = km.build_task("Gemma3nCausalLM", 10)
    text = lm.backbone.language_model
    per_layer = text.embed_tokens_per_layer.embedding.embeddings.numpy()
    resize_token_embeddings(lm, 13, seed=0)
    grown = text.embed_tokens_per_layer.embedding.embeddings.numpy()
    assert grown.shape == (13, 2) and np.array_equal(grown[:10], per_layer) and np.ptp(grown[10:]) > 0
    config = lm.backbone.get_config()
    assert config["text_vocab_size"] == config["vocab_size_per_layer_input"] == 13
    assert text.embed_tokens.num_embeddings == text.embed_tokens_per_layer.num_embeddings == 13


def test_gemma3n_with_a_smaller_per_layer_table_is_refused():
    kh_backbone = keras_hub.models.Gemma3nBackbone(**{**km.BACKBONES["Gemma3nCausalLM"][1](10, 8),
                                                       "vocab_size_per_layer_input": 8})
    lm = keras_hub.models.Gemma3nCausalLM(backbone=kh_backbone, preprocessor=None)
    weights = [id(v) for v in lm.weights]
    with pytest.raises(ResizeError, match="per-layer input table has 8 rows"):
        resize_token_embeddings(lm, 12)
    assert [id(v) for v in lm.weights] == weights and lm.backbone.text_vocab_size == 10


def test_gemma3n_task_head_is_a_constant_of_the_first_embedding():
    """manifests/keras_hub.toml (Gemma3nCausalLM): the task's functional head is the token table as it
    was when the task was built (keras_hub/src/models/gemma3n/gemma3n_text_model.py
    Gemma3nTextModel.token_embedding(reverse=True) on a variable, traced eagerly by
    gemma3n_causal_lm.py Gemma3nCausalLM.__init__); when this fails, keras-hub fixed it."""
    lm = km.build_task("Gemma3nCausalLM", 10)
    table = lm.backbone.language_model.embed_tokens.embedding.embeddings
    ids = np.array([[1, 2, 3]], np.int32)
    table.assign(table.numpy() * 3.0)
    hidden = np.asarray(lm.backbone(_inputs(lm, ids)))
    assert not np.allclose(_logits(lm, ids), hidden @ table.numpy().T, atol=1e-4)


def _inputs(lm, ids):
    from harness.adapters.keras_hub_adapter import task_inputs

    return task_inputs(lm, ids)


def _assistant(vocab, centroids):
    backbone = keras_hub.models.Gemma4Backbone(**km.BACKBONES["Gemma4AssistantCausalLM"][1](vocab, 8))
    lm = keras_hub.models.Gemma4AssistantCausalLM(backbone=backbone, backbone_hidden_size=8, num_centroids=centroids,
                                                  centroid_intermediate_top_k=1, use_ordered_embeddings=True)
    lm.token_ordering.assign(np.random.default_rng(0).permutation(vocab).astype(np.float32))
    return lm


def test_gemma4_assistant_token_ordering_follows_the_vocabulary():
    lm = _assistant(8, 2)
    order = lm.token_ordering.numpy().reshape(2, 4)
    resize_token_embeddings(lm, 12, seed=0)
    grown = lm.token_ordering.numpy().reshape(2, 6)
    assert np.array_equal(grown[:, :4], order) and np.array_equal(grown[:, 4:], [[8, 10], [9, 11]])
    assert lm._vocab_size_per_centroid == 6 and sorted(grown.ravel()) == list(range(12))
    weights = [id(v) for v in lm.weights]
    with pytest.raises(ResizeError, match="not a multiple of 2"):
        resize_token_embeddings(lm, 13)
    assert [id(v) for v in lm.weights] == weights
    resize_token_embeddings(lm, 14, pad_to_multiple_of=2)
    assert lm.token_ordering.shape == (14,)


def test_gemma4_assistant_uneven_shrink_is_refused_and_the_drafter_runs_at_the_new_size():
    lm = _assistant(8, 2)
    lm.token_ordering.assign(np.array([0, 1, 2, 3, 4, 5, 6, 7], np.float32))  # centroid 1 holds ids 4..7
    with pytest.raises(ResizeError, match="not spread evenly"):
        resize_token_embeddings(lm, 4)
    lm.token_ordering.assign(np.array([0, 1, 4, 5, 2, 3, 6, 7], np.float32))
    resize_token_embeddings(lm, 4)
    assert lm.token_ordering.numpy().tolist() == [0, 1, 2, 3] and lm._vocab_size_per_centroid == 2
    one = km.build_task("Gemma4AssistantCausalLM", 6)  # the adapter's build: one centroid, all ids active
    resize_token_embeddings(one, 9, seed=0)
    ids = np.array([[1, 8, 2]], np.int32)
    drafted = np.asarray(km.assistant_logits(one, ids))
    emb = one.backbone.token_embedding.embeddings.numpy()
    assert drafted.shape == (1, 3, 9) and sorted(one.token_ordering.numpy()) == list(range(9))
    assert np.isfinite(drafted).all() and emb.shape == (9, 8)


def test_gemma3n_resize_is_right_where_keras_hub_reads_the_table_at_run_time():
    """The path generate() takes (call_with_cache: language_model.token_embedding at run time) sees the
    resized table; the task's own forward does not (the test above, manifests/keras_hub.toml)."""
    lm = km.build_task("Gemma3nCausalLM", 10)
    text = lm.backbone.language_model
    ids = np.array([[1, 2, 9]], np.int32)

    def live(x):
        return np.asarray(text.token_embedding(lm.backbone(_inputs(lm, x)), reverse=True))

    before = live(ids)
    resize_token_embeddings(lm, 13, seed=0)
    np.testing.assert_allclose(live(ids)[..., :10], before, atol=1e-6)
    assert live(np.array([[1, 12]], np.int32)).shape == (1, 2, 13)
    assert _logits(lm, ids).shape == (1, 3, 10)  # the task's constant head: keras-hub's defect


def test_every_format_a_builtin_adapter_offers_has_example_cases():
    """A format reached only by the property case's draw is certified by luck (keras-hub's keras and
    preset formats were, until the certify-all of 2026-12-01 drew a tied Llama with fmt=preset)."""
    from harness.adapters.keras_hub_adapter import KerasHubAdapter
    from harness.adapters.reference import ReferenceAdapter
    from harness.adapters.transformers_adapter import TransformersAdapter
    from suites.saveload import FORMATS

    offered = set(TransformersAdapter.FORMATS) | set(KerasHubAdapter("GPT2CausalLM").capabilities().formats)
    offered |= set(ReferenceAdapter().capabilities().formats)
    assert offered <= set(FORMATS), sorted(offered - set(FORMATS))
