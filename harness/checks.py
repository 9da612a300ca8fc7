"""The check catalogue.

A check is a function ``func(ctx, params)`` that raises ``CheckFailure`` when its
property does not hold. It has a stable id (``family.name``), a one-line property,
a reason a user cares, fixed edge cases (parameter dicts) and an optional
hypothesis strategy ``strategy(data, caps) -> params`` that draws labelled
parameters. Suites register checks with the ``@check`` decorator.

This module knows no suite: suite packages are plug-ins named in the entry-point group
``tf_resize_conformance.suites`` (pyproject.toml: ``core = "suites"``). ``load_suites``
imports each one, and importing a suite package registers its checks, so the import
graph runs one way: suites -> harness.checks.
"""

import dataclasses
import re
from collections.abc import Callable
from importlib import metadata

from harness.scenario import as_scenario

ID_RE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
SUITE_ENTRY_POINT_GROUP = "tf_resize_conformance.suites"
_CHECKS = {}
_LOADED = []


@dataclasses.dataclass(frozen=True)
class Check:
    id: str
    property: str
    why: str
    func: Callable
    cases: tuple = ()
    strategy: Callable | None = None
    requires: tuple = ()
    applies: Callable | None = None  # (caps, params) -> reason or None
    essential: tuple = ()  # params that must not be fitted to the adapter (see applicability)

    @property
    def family(self):
        return self.id.split(".", 1)[0]

    def to_dict(self):
        return {"id": self.id, "family": self.family, "property": self.property, "why": self.why,
                "requires": list(self.requires), "essential": list(self.essential),
                "examples": len(self.cases),
                "property_based": self.strategy is not None}


def check(check_id, *, property, why, cases=(), strategy=None, requires=(), applies=None, essential=()):
    """Register the decorated function as check ``check_id``."""
    if not ID_RE.match(check_id):
        raise ValueError(f"check id {check_id!r} must look like 'family.name'")

    def decorate(func):
        if check_id in _CHECKS and _CHECKS[check_id].func.__qualname__ != func.__qualname__:
            raise ValueError(f"duplicate check id {check_id!r}")
        _CHECKS[check_id] = Check(check_id, property.strip(), why.strip(), func,
                                    tuple(as_scenario(c) for c in cases),
                                    strategy, tuple(requires), applies, tuple(essential))
        return func

    return decorate


def load_suites():
    """Import every suite package registered in ``SUITE_ENTRY_POINT_GROUP`` (once)."""
    if _LOADED:
        return
    points = sorted({ep.value: ep for ep in metadata.entry_points(group=SUITE_ENTRY_POINT_GROUP)}.values(),
                    key=lambda ep: ep.value)
    if not points:
        raise RuntimeError(f"no check suites: nothing is registered in the entry-point group "
                           f"{SUITE_ENTRY_POINT_GROUP!r}; install the package (pip install -e .)")
    for ep in points:
        ep.load()
    _LOADED.append(True)


def all_checks():
    """Every registered check, in a stable order (by id)."""
    load_suites()
    return [_CHECKS[k] for k in sorted(_CHECKS)]


def get(check_id):
    load_suites()
    return _CHECKS[check_id]
