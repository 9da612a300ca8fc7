"""Adapters are found by built-in name, entry point, or 'module:factory'."""

from importlib import metadata

import pytest

from harness import registry
from harness.adapters.reference import ReferenceAdapter


def test_builtin_and_module_factory():
    assert isinstance(registry.resolve("reference"), ReferenceAdapter)
    adapter = registry.resolve("mutants:PadsMinusOne")
    assert type(adapter).__name__ == "PadsMinusOne"


def test_entry_point_group(monkeypatch):
    ep = metadata.EntryPoint("thirdparty", "mutants:ZeroInit", registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry.metadata, "entry_points",
                        lambda group: [ep] if group == registry.ENTRY_POINT_GROUP else [])
    assert "thirdparty" in registry.available()
    assert type(registry.resolve("thirdparty")).__name__ == "ZeroInit"


@pytest.mark.parametrize("name, fragment", [
    ("nope", "unknown adapter 'nope'"),
    ("no_such_module_xyz:make", "cannot import module"),
    ("mutants:NoSuchFactory", "has no attribute"),
    ("mutants:", "not of the form"),
])
def test_unknown_adapters_say_what_is_wrong(name, fragment):
    with pytest.raises(registry.AdapterNotFound, match=fragment):
        registry.resolve(name)


def test_factory_must_produce_an_adapter():
    with pytest.raises(registry.AdapterNotFound, match="raised TypeError"):
        registry.resolve("mutants:collect")
    with pytest.raises(registry.AdapterNotFound, match="did not produce an adapter"):
        registry.resolve("mutants:ALL")
