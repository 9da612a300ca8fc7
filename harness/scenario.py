"""Typed case parameters: what one case builds, resizes and observes.

A ``Scenario`` is a frozen, typed record with one field per parameter any check uses. A field
that a case does not set is ``UNSET`` and left out of everything: the case id
(``check[a=1,b=x]``, the fields that are set, in name order), iteration and ``dict(scenario)``.
So adding a field cannot rename a case id that a manifest or a baseline lists, and a misspelt or
mistyped parameter fails when the suite is imported, not as a silently new case id.

It reads like the dict it replaces (``p["new"]``, ``p.get("bias")``, ``{**p}``) and also as
attributes (``p.new``); ``p.replace(fmt="h5")`` gives a changed copy.
"""

import dataclasses
from collections.abc import Mapping


class _Unset:
    __slots__ = ()

    def __repr__(self):
        return "UNSET"

    def __reduce__(self):
        return "UNSET"


UNSET = _Unset()
_NONE = type(None)


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class Scenario(Mapping):
    """The parameters of one case; each field is a type or tuple of types it accepts."""

    # vocabulary sizes: before, after, after a second resize; the model's width
    old: int = UNSET
    new: int = UNSET
    new2: int = UNSET
    width: int = UNSET
    # the model: tie mode (tied/untied), LM-head bias layout (none/vector/row/multi), dtype
    tie: str = UNSET
    bias: str = UNSET
    dtype: str = UNSET
    fmt: str = UNSET            # checkpoint format (saveload, dtype)
    bad: str = UNSET            # the kind of invalid input (bad_input, pad, matrix, rnn, width)
    size: object = UNSET        # an invalid size as given (int or str)
    min_vocab: int = UNSET      # shrink.below_minimum_rejected
    multiple: int = UNSET       # pad_to_multiple_of
    shared: int = UNSET         # remap: tokens kept by the new vocabulary
    identical: bool = UNSET     # remap: the new vocabulary is the old one
    offset: float = UNSET       # mean_init: mean of the kept rows
    case: str = UNSET           # golden: the stored case's name
    vocab: int = UNSET          # width: rows of the matrix
    new_width: int = UNSET
    mode: str = UNSET           # width: pad / truncate / project
    cell: str = UNSET           # rnn: the cell (lstm/gru/simple)
    units: int = UNSET
    new_units: object = UNSET   # int, or None where the case passes none
    input_dim: int = UNSET
    batch: int = UNSET
    steps: int = UNSET

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is UNSET:
                continue
            kinds = _TYPES[f.name]
            if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
                raise TypeError(f"scenario field {f.name!r} = {value!r}: expected "
                                f"{' or '.join(k.__name__ for k in kinds)}")

    # -- Mapping: only the fields that are set ------------------------------------------------
    def __getitem__(self, key):
        value = getattr(self, key, UNSET) if key in _FIELDS else UNSET
        if value is UNSET:
            raise KeyError(key)
        return value

    def __iter__(self):
        return (name for name in _FIELDS if getattr(self, name) is not UNSET)

    def __len__(self):
        return sum(1 for _ in self)

    def __eq__(self, other):
        return isinstance(other, Mapping) and dict(self) == dict(other)

    def __hash__(self):
        return hash(tuple(sorted(self.items())))

    def __repr__(self):
        return f"Scenario({', '.join(f'{k}={v!r}' for k, v in self.items())})"

    def replace(self, **changes):
        """A copy with ``changes`` (a field name that does not exist is a TypeError)."""
        return dataclasses.replace(self, **changes)


_FIELDS = tuple(sorted(f.name for f in dataclasses.fields(Scenario)))
_TYPES = {"size": (int, str), "new_units": (int, _NONE), "identical": (bool,)}
_TYPES.update({f.name: (f.type,) for f in dataclasses.fields(Scenario) if f.name not in _TYPES})


def as_scenario(params):
    """``params`` (a mapping, e.g. a hypothesis draw) as a ``Scenario``; None stays None. A key that
    is no field raises ``TypeError`` naming it (declare the field here first)."""
    if params is None or isinstance(params, Scenario):
        return params
    unknown = sorted(set(params) - set(_FIELDS))
    if unknown:
        raise TypeError(f"unknown case parameter(s) {unknown}: declare them as fields of "
                        "harness.scenario.Scenario")
    return Scenario(**params)


def plain(params):
    """``params`` as a plain dict (for JSON and reports); None stays None."""
    return None if params is None else dict(params)
