"""Warm workers (harness.warm, isolation.WorkerPool): a worker runs subject after subject, and a
subject never sees state another left behind: a worker whose previous subject rebound a library
function is replaced by a fresh process."""

import os
import pathlib

import pytest

from harness.isolation import IsolatedRunner, WorkerPool

TESTS = str(pathlib.Path(__file__).resolve().parent)
GROW = "grow.shape[bias=none,dtype=float32,new=9,old=8,tie=tied,width=8]"


@pytest.fixture(autouse=True)
def _worker_can_import_tests(monkeypatch):
    paths = [TESTS, str(pathlib.Path(TESTS).parent), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in paths if p))


def _subject(spec, pool):
    """Run GROW for ``spec`` with ``pool``; return (status, message, worker pid)."""
    runner = IsolatedRunner(spec, profile="dev", timeout_s=60, select=(GROW,), pool=pool)
    try:
        (case,) = [c for c in runner.plan() if c.id == GROW]
        pid = runner._worker.proc.pid
        result = runner.run_case(case)
    finally:
        runner.close()
    return result.status, result.message, pid


def test_a_clean_subject_leaves_its_worker_to_the_next():
    pool = WorkerPool()
    try:
        first = _subject("faulty:Clean", pool)
        second = _subject("faulty:Clean", pool)
    finally:
        pool.close()
    assert first[0] == second[0] == "passed"
    assert first[2] == second[2] and pool.stats == {"started": 1, "reused": 1, "polluted": 0}


def test_a_polluting_subject_does_not_reach_the_next_one():
    pool = WorkerPool()
    try:
        polluter = _subject("faulty:PatchesTheReference", pool)
        clean = _subject("faulty:Clean", pool)
        again = _subject("faulty:PatchesTheReference", pool)  # polluted again: a new process once more
    finally:
        pool.close()
    assert polluter[0] == "passed"  # it patched the class after its own resize
    assert clean[0] == "passed", clean[1]  # in the polluted process grow.shape would fail (one row too many)
    assert clean[2] != polluter[2] and pool.stats["polluted"] == 1
    assert again[2] == clean[2]  # the clean subject's worker was reused
