"""The transformers adapter on a few representative classes, and expected-failure manifests."""

import pathlib
import subprocess
import sys

import numpy as np
import pytest

from harness import manifest, registry
from harness.adapters import transformers_models as tm
from harness.adapters.transformers_adapter import NotDrivable, TransformersAdapter, Unsupported
from harness.runner import Runner

ROOT = pathlib.Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "manifests" / "transformers.toml"


def _run(adapter, select, entries=()):
    runner = Runner(adapter, select=select, profile="dev", seed=0, shrink=False,
                    expected_failures=manifest.for_class(entries, adapter.class_name))
    plan = [c for c in runner.plan() if c.kind == "example"]
    return runner.run(plan[:3])


# -- discovery ---------------------------------------------------------------------------
def test_every_exported_model_class_is_listed_with_its_mapping_kinds():
    entries = tm.list_classes()
    names = [e.name for e in entries]
    assert names == sorted(set(names)) and len(names) >= 330   # 339 in transformers 4.57.6
    import transformers

    assert all(issubclass(getattr(transformers, n), transformers.TFPreTrainedModel) for n in names)
    by = {e.name: e for e in entries}
    assert {"FOR_MASKED_LM", "WITH_LM_HEAD"} <= set(by["TFBertForMaskedLM"].mapping_kinds)
    for name in ("TFBlipTextLMHeadModel", "TFDPRContextEncoder", "TFRagModel", "TFGPT2DoubleHeadsModel",
                 "TFBertPreTrainedModel"):   # in no auto mapping, listed all the same
        assert by[name].mapping_kinds == () and by[name].model_types
    assert tm.is_model_class("TFBertModel") and not tm.is_model_class("TFSequenceSummary")
    assert not tm.is_model_class("TFPreTrainedModel") and not tm.is_model_class("TFNoSuchModel")


@pytest.mark.parametrize("name, fragments", [
    ("TFViTModel", ("pixel_values", "no config of the class", "variables")),
    ("TFWav2Vec2Model", ("input_values", "sizes nothing", "vocab_size=97")),
    ("TFBertPreTrainedModel", ("abstract base class", "no variables")),
])
def test_no_vocabulary_is_the_only_unsupported_and_is_demonstrated(name, fragments):
    with pytest.raises(Unsupported, match="^no token vocabulary: ") as info:
        TransformersAdapter(name).capabilities()
    assert all(f in str(info.value) for f in fragments), str(info.value)


def test_a_class_that_cannot_be_built_still_runs_and_its_cases_raise_the_library_error():
    a = TransformersAdapter("TFFlaubertForMultipleChoice")   # FlaubertConfig has no initializer_range
    caps = a.capabilities()
    assert {"graph_forward", "rejects_out_of_range_ids"} <= caps.flags and "initializer_range" in a.probe().defect
    with pytest.raises(AttributeError, match="initializer_range"):
        a.build(a_spec(9, tie="untied"))


def test_a_forward_that_drops_the_hidden_states_is_not_drivable_but_still_runs():
    a = TransformersAdapter("TFCamembertForMultipleChoice")
    assert "hidden state" in a.probe().defect
    model = a.build(a_spec(9, tie="untied"))
    assert a.read_input_matrix(model).shape == (9, 32)      # weights are still reachable
    with pytest.raises(NotDrivable, match="hidden state"):
        a.forward(model, [[1, 2]])


def test_registry_resolves_transformers_names():
    adapter = registry.resolve("transformers/TFBertForMaskedLM")
    assert isinstance(adapter, TransformersAdapter) and adapter.class_name == "TFBertForMaskedLM"
    assert adapter.describe()["model_class"] == "TFBertForMaskedLM"
    with pytest.raises(registry.AdapterNotFound, match="not a TF model class"):
        registry.resolve("transformers/TFNoSuchModel")


# -- representative classes ----------------------------------------------------------------
def test_bert_mlm_tied_vector_bias_and_handles_bypass_getters():
    a = TransformersAdapter("TFBertForMaskedLM")
    caps = a.capabilities()
    assert caps.tie_modes == {"tied"} and caps.bias_layouts == {"vector"} and caps.has("output_embeddings")
    model = a.build(a_spec(9))
    real = a.handles(model)["input"]
    model.get_input_embeddings = lambda: None      # a getter that lies
    assert a.handles(model)["input"] is real and a.is_tied(model)
    assert a.forward(model, [[1, 8, 2]]).shape == (1, 3, 9)
    assert all(r.status == "passed" for r in _run(a, ["grow.prefix_preserved"]))


def test_h5_report_ignores_numbered_weightless_layers_but_not_weights(tmp_path):
    """TFAlbertForMultipleChoice's unnamed Dropout is saved as dropout_<n> and rebuilt as dropout_<m>:
    not a weight, so not reported; a layer that holds weights and is missing still is."""
    a = TransformersAdapter("TFAlbertForMultipleChoice")
    model = a.build(a_spec(9))
    a.save(model, str(tmp_path), "h5")
    loaded, report = a.load_report(str(tmp_path), "h5")
    assert report == {"missing": [], "unexpected": [], "mismatched": []}
    import h5py

    with h5py.File(tmp_path / "tf_model.h5", "r+") as fh:  # rename the classifier's group: a real mismatch
        fh.move("classifier", "classifier_renamed")
        names = [n.decode() if isinstance(n, bytes) else n for n in fh.attrs["layer_names"]]
        fh.attrs["layer_names"] = [("classifier_renamed" if n == "classifier" else n).encode() for n in names]
    _, report = a.load_report(str(tmp_path), "h5")
    assert report["unexpected"] == ["classifier_renamed"] and report["missing"] == ["classifier"]


def test_gpt2_causal_lm_is_tied_without_bias():
    a = TransformersAdapter("TFGPT2LMHeadModel")
    caps = a.capabilities()
    assert caps.tie_modes == {"tied"} and caps.bias_layouts == {"none"}
    assert all(r.status == "passed" for r in _run(a, ["oracle.matches_reference"]))


def test_t5_seq2seq_has_both_tie_modes_and_the_untied_head_is_transposed():
    a = TransformersAdapter("TFT5ForConditionalGeneration")
    assert a.capabilities().tie_modes == {"tied", "untied"}
    model = a.build(a_spec(7, tie="untied"))
    assert not a.is_tied(model) and a.read_output_matrix(model).shape == (7, 32)
    assert a.forward(model, [[1, 2, 6]]).shape == (1, 3, 7)


def test_base_model_scores_hidden_states_against_the_input_matrix():
    a = TransformersAdapter("TFBertModel")
    caps = a.capabilities()
    assert not caps.has("output_embeddings") and caps.tie_modes == {"untied"}
    model = a.build(a_spec(6))
    assert a.read_output_matrix(model) is None
    assert np.isfinite(a.forward(model, [[0, 5]])).all() and a.forward(model, [[0, 5]]).shape == (1, 2, 6)


def a_spec(vocab, tie="tied"):
    from harness.adapter import ModelSpec

    return ModelSpec(vocab_size=vocab, tie=tie)


# -- manifests -------------------------------------------------------------------------------
GOOD = {"check": "grow.*", "classes": "TFBert*", "category": "bug",
        "reason": "modeling_tf_utils.py _get_resized_embeddings: does X"}


def test_manifest_in_repo_is_valid():
    entries = manifest.load(MANIFEST)
    assert entries and all(e.reason and ".py" in e.reason for e in entries)


@pytest.mark.parametrize("change, fragment", [
    ({"reason": ""}, "missing or empty 'reason'"),
    ({"category": None}, "missing or empty 'category'"),
    ({"category": "wontfix"}, "unknown category"),
    ({"check": "nosuch.check"}, "matches no known check id"),
    ({"reason": "something is wrong"}, "source file"),
    ({"versions": "not a spec"}, "PEP 440"),
    ({"colour": "red"}, "unknown keys"),
])
def test_manifest_errors_are_one_line_with_entry_index(change, fragment):
    item = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    entries, errors = manifest.validate({"expected_failure": [GOOD, item]}, "m.toml")
    assert any(e.startswith("m.toml:entry 1: ") and fragment in e and "\n" not in e for e in errors), errors


def test_manifest_duplicates_and_class_filter_and_unmatched():
    entries, errors = manifest.validate({"expected_failure": [GOOD, dict(GOOD)]}, "m.toml")
    assert errors == ["m.toml:entry 1: duplicate of entry 0 (same check, classes, cases and versions)"]
    other = {**GOOD, "classes": "TFGPT2*", "check": "tied.*", "versions": "<1"}
    entries, errors = manifest.validate({"expected_failure": [GOOD, other]}, "m.toml")
    assert not errors
    assert [x.check for x in manifest.for_class(entries, "TFBertModel", "4.57.6")] == ["grow.*"]
    assert manifest.for_class(entries, "TFGPT2LMHeadModel", "4.57.6") == []   # version range excludes it
    results = {"TFBertModel": [{"id": "grow.shape[x]", "check": "grow.shape", "status": "xfailed"}]}
    assert [e.index for e in manifest.unmatched(entries, results, "0.1")] == [1]


def test_cli_rejects_a_bad_manifest_with_exit_2(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[expected_failure]]\ncheck = "grow.*"\ncategory = "bug"\n')
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--adapter", "reference",
                           "--expected-failures", str(bad), "--report-dir", str(tmp_path / "r")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.startswith("resize-conformance: error")]
    assert len(errors) == 1 and "bad.toml:entry 0: missing or empty 'reason'" in errors[0]
