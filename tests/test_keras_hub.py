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
