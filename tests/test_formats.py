"""Save formats and dtypes: the loading-report protocol, the failure messages of the format and
dtype mutants, and the transformers adapter's formats and dtype policies (on GPT-2)."""

import tempfile

import mutants_formats
import pytest
import tensorflow as tf

from harness.adapter import ModelSpec
from harness.adapters.reference import ReferenceAdapter
from harness.runner import Runner


def _run(adapter, select):
    runner = Runner(adapter, select=select, profile="dev", seed=0, shrink=False)
    return runner.run([c for c in runner.plan() if c.kind == "example"])


@pytest.mark.parametrize("mutant", mutants_formats.ALL, ids=lambda m: m.__name__)
def test_every_failure_of_a_mutant_names_its_defect(mutant):
    failed = [r for r in _run(mutant(), list(mutant.kills)) if r.status == "failed"]
    assert {r.check for r in failed} == set(mutant.kills)
    assert all(mutant.kills[r.check] in r.message for r in failed), [r.message for r in failed]


@pytest.mark.parametrize("adapter", [ReferenceAdapter, mutants_formats.PolicyReference], ids=lambda a: a.__name__)
def test_reference_passes_saveload_and_dtype(adapter):
    results = _run(adapter(), ["saveload.*", "dtype.*"])
    assert {r.status for r in results} <= {"passed", "not_applicable"}, \
        [(r.id, r.status, r.message) for r in results if r.status not in ("passed", "not_applicable")]
    policy = [r.status for r in results if r.check == "dtype.resize_ignores_global_policy"]
    assert set(policy) == ({"passed"} if adapter is mutants_formats.PolicyReference else {"not_applicable"})


def test_transformers_gpt2_formats_dtype_policy_and_loading_report():
    from harness.adapters.transformers_adapter import TransformersAdapter

    a = TransformersAdapter("TFGPT2LMHeadModel")
    caps = a.capabilities()
    assert caps.formats == {"h5", "safetensors", "h5_sharded", "safetensors_sharded"}
    assert caps.dtypes == {"float32", "float16", "bfloat16"} and caps.has("dtype_policy")
    half, full = a.build(ModelSpec(8, dtype="float16")), a.build(ModelSpec(8))
    assert tf.keras.mixed_precision.global_policy().name == "float32"   # restored after the build
    assert a.read_input_matrix(half).dtype.name == "float16" and a.read_input_matrix(full).dtype.name == "float32"
    a.resize(half, 12)
    assert a.read_input_matrix(half).dtype.name == "float16"
    path = tempfile.mkdtemp()
    a.save(half, path, "safetensors_sharded")
    loaded, report = a.load_report(path, "safetensors_sharded")
    assert report == {"missing": [], "unexpected": [], "mismatched": []}
    saved, got = a.variable_values(half), a.variable_values(loaded)   # names without the model's scope
    assert sorted(saved) == sorted(got) and all(got[k].dtype == saved[k].dtype for k in saved)
    assert tf.keras.mixed_precision.global_policy().name == "float32"   # restored after the load
