import fcntl
import os
import shutil
import sys

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
sys.path.insert(0, os.path.dirname(__file__))


def _once_per_run(tmp_path_factory, name, build):
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's base temp; each worker's is a directory in it
    path, done = root / name, root / f"{name}.done"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(path, ignore_errors=True)  # what a failed build left
            path.mkdir()
            build(path)
            done.touch()
    return path


@pytest.fixture(scope="session")
def once_per_run(tmp_path_factory):
    """``once_per_run(name, build)``: the directory ``<base temp>/name``, filled by ``build(path)`` once
    per pytest run, for an expensive fixture. Under xdist the workers share it: the first to need it
    builds it under a lock, the others wait and reuse it. (xdist_group, which would keep its users on
    one worker, has no effect with pytest 9: xdist renames ``item._nodeid``, which pytest no longer
    reads.) Read the directory, or copy it before changing it."""
    return lambda name, build: _once_per_run(tmp_path_factory, name, build)


@pytest.fixture(scope="session")
def transformers_certified(once_per_run):
    """The report dir of one ``certify`` of tests/certify_transformers.py's CLASSES (GPT-2, DistilBERT,
    ViT; ``--select grow.shape``, 2 workers), shared by the resume and shard tests: read it, or copy
    it before changing it."""
    import certify_transformers

    def build(out):
        code, text = certify_transformers.certify(out)
        assert code == 0, text

    return once_per_run("certify-transformers", build)


# The longest tests, in seconds (--durations, -n 2 on the 2-core CI machine, idle). They are sent to
# the xdist workers first, longest first: with two workers, a long test that starts near the end
# sets the wall time. All other tests follow in collection order. A key is a node id prefix.
LONGEST = {
    "tests/test_certify_resume.py::test_resume_keeps_finished_classes_and_reruns_the_rest": 60,
    "tests/test_certify_shard.py::test_merged_shards_equal_the_unsharded_run": 55,
    "tests/test_model_pool.py::test_same_results_with_and_without_reuse": 48,
    "tests/test_mutants_transformers.py::test_every_mutant_is_killed_on_the_real_class[TFT5": 43,
    "tests/test_mutants_transformers.py::test_every_mutant_is_killed_on_the_real_class[TFBart": 43,
    "tests/test_adoption.py::test_pytest_plugin_gates_the_same_way": 35,
    "tests/test_mutants_transformers.py::test_every_mutant_is_killed_on_the_real_class[TFGPT2": 25,
    "tests/test_mutants_transformers.py::test_every_mutant_is_killed_on_the_real_class[TFBert": 24,
    "tests/test_isolation.py::test_same_seed_same_report": 22,
    "tests/test_runner.py::test_reference_passes_every_check_and_counts_add_up": 17,
    "tests/test_isolation.py::test_leak_over_limit": 14,
    "tests/test_certify.py::test_certify_writes_json_md_and_html_with_the_matrix": 13,
    "tests/test_cli.py::test_run_subprocess": 11,
    "tests/test_cli.py::test_sigterm_writes_partial_report": 11,
}


@pytest.hookimpl(trylast=True)  # after pytest's own reordering (by fixture scope)
def pytest_collection_modifyitems(items):
    def seconds(item):
        return max((s for prefix, s in LONGEST.items() if item.nodeid.startswith(prefix)), default=0)

    items.sort(key=lambda item: -seconds(item))  # stable: the rest keep their order
