"""Typed case parameters (harness/scenario.py) and the committed catalogue of case ids."""

import dataclasses
import pathlib
import pickle

import pytest

from harness import cli
from harness.runner import case_id
from harness.scenario import UNSET, Scenario, as_scenario, plain
from suites._params import P

CATALOGUE = pathlib.Path(__file__).parent / "data" / "case_ids.txt"


def test_a_case_id_names_the_fields_that_are_set_in_name_order():
    p = P(8, 12, tie="untied", fmt="h5")
    assert case_id("saveload.roundtrip_weights", p) == \
        "saveload.roundtrip_weights[bias=none,dtype=float32,fmt=h5,new=12,old=8,tie=untied,width=8]"
    assert case_id("x.y", Scenario(cell="gru", new_units=None)) == "x.y[cell=gru,new_units=None]"


def test_it_reads_like_the_dict_it_replaces():
    p = P(8, 12, bias="vector")
    assert p["new"] == p.new == 12 and p.get("fmt") is None and "fmt" not in p and p.fmt is UNSET
    assert {**p, "vocab_size": 3}["vocab_size"] == 3 and dict(p) == plain(p)
    assert p == dict(p) and hash(p) == hash(as_scenario(dict(p)))
    assert p.replace(fmt="h5")["fmt"] == "h5" and "fmt" not in p      # frozen: replace gives a copy
    with pytest.raises(KeyError):
        p["fmt"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.new = 3
    assert pickle.loads(pickle.dumps(p)) == p and pickle.loads(pickle.dumps(UNSET)) is UNSET


def test_misspelt_or_mistyped_parameters_fail_at_declaration():
    with pytest.raises(TypeError, match="unknown case parameter.*'nwe'"):
        as_scenario({"old": 8, "nwe": 9})
    with pytest.raises(TypeError, match="'width' = '8': expected int"):
        P(8, 9, width="8")
    with pytest.raises(TypeError, match="'old' = True"):
        P(True, 9)                                   # a bool is not a size
    with pytest.raises(TypeError):
        P(8, 9).replace(nwe=3)


def test_a_new_field_does_not_rename_existing_case_ids():
    @dataclasses.dataclass(frozen=True, repr=False, eq=False)
    class Grown(Scenario):
        brand_new: int = UNSET

    assert case_id("grow.shape", Grown(old=8, new=9)) == case_id("grow.shape", Scenario(old=8, new=9))


def test_the_case_id_catalogue_is_committed(capsys):
    """Manifests and baselines list case ids: a change to any of them must be deliberate. If it is,
    regenerate with ``resize-conformance list-checks --cases > tests/data/case_ids.txt`` and update
    the manifests (``scripts/compact_manifest.py`` checks what they decide)."""
    assert cli.main(["list-checks", "--cases"]) == 0
    now = capsys.readouterr().out.splitlines()
    committed = CATALOGUE.read_text().splitlines()
    assert len(now) == len(set(now))
    assert now == committed, (f"case ids changed: {sorted(set(committed) - set(now))[:5]} gone, "
                              f"{sorted(set(now) - set(committed))[:5]} new")
