"""Case results and statuses.

``passed``, ``failed`` (the property does not hold), ``error`` (the check could
not be evaluated: the adapter or the check raised, or timed out), ``xfailed`` /
``xpassed`` (an expected failure failed / unexpectedly passed), ``skipped`` (not
run: deselected or interrupted), ``not_applicable`` (the adapter's capabilities
rule the case out; never counted as a pass).
"""

import dataclasses
from typing import Any

STATUSES = ("passed", "failed", "error", "xfailed", "xpassed", "skipped", "not_applicable")
RAN = frozenset({"passed", "failed", "error", "xfailed", "xpassed"})


@dataclasses.dataclass
class CaseResult:
    id: str
    check: str
    kind: str  # "example" or "property"
    params: dict | None  # a plain dict (a ``Scenario`` given here is converted)
    status: str
    message: str = ""
    duration_s: float = 0.0
    expected: Any = None
    observed: Any = None
    details: dict = dataclasses.field(default_factory=dict)
    reproduce: str | None = None
    seed: int | None = None

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}")
        if self.params is not None and type(self.params) is not dict:
            self.params = dict(self.params)

    def to_dict(self):
        d = dataclasses.asdict(self)
        return {k: v for k, v in d.items() if v is not None and v != {}}


# Worst first: the status a group of cases (a class x check cell) shows.
WORST_FIRST = ("error", "failed", "xpassed", "skipped", "xfailed", "passed", "not_applicable")
SYMBOLS = {"passed": "✓", "failed": "✗", "error": "E", "xfailed": "x", "xpassed": "X", "skipped": "s",
           "not_applicable": "·"}  # one character per status, for compact matrices


def worst(statuses):
    present = set(statuses)
    return next((s for s in WORST_FIRST if s in present), "not_applicable")


def family_counts(cases):
    """``[(family, {status: n})]`` of case dicts, by check family (the id before the first dot)."""
    fams = {}
    for case in cases:
        fam = case["check"].split(".", 1)[0]
        fams.setdefault(fam, {k: 0 for k in STATUSES})[case["status"]] += 1
    return sorted(fams.items())


def group_ids(cases, status, key=None):
    """``[(message, [case ids])]`` of the case dicts with ``status``, largest group first;
    ``key`` maps a message to the group it belongs to."""
    groups = {}
    for c in cases:
        if c["status"] == status:
            message = c.get("message") or "(no reason given)"
            groups.setdefault(key(message) if key else message, []).append(c["id"])
    return sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))


def classes_line(subjects, labels=None):
    """``N classes: a passed, b failed, c error, d not_applicable[, e not run]`` of a certify matrix's subject
    rows (``labels`` renames statuses; ``skipped`` rows are the classes an interrupted run did not reach)."""
    labels = labels or {}
    counts = [f"{sum(1 for r in subjects if r['status'] == k)} {labels.get(k, k)}"
              for k in ("passed", "failed", "error", "not_applicable")]
    not_run = sum(1 for r in subjects if r["status"] == "skipped")
    return f"{len(subjects)} classes: " + ", ".join(counts) + (f", {not_run} not run" if not_run else "")


def manifest_reason(message):
    """``expected failure (<manifest reason>): <observed>`` -> the manifest reason (a key for ``group_ids``)."""
    prefix = "expected failure ("
    if message.startswith(prefix) and "): " in message:
        return message[len(prefix):message.index("): ")]
    return message


def count(results):
    counts = {s: 0 for s in STATUSES}
    for r in results:
        counts[r.status] += 1
    return counts
