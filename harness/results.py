"""Case results and statuses.

``passed``, ``failed`` (the property does not hold), ``error`` (the check could
not be evaluated: the adapter or the check raised, or timed out), ``xfailed`` /
``xpassed`` (an expected failure failed / unexpectedly passed), ``skipped`` (not
run: deselected or interrupted), ``not_applicable`` (the adapter's capabilities
rule the case out; never counted as a pass).
"""

import dataclasses
from typing import Any, Optional

STATUSES = ("passed", "failed", "error", "xfailed", "xpassed", "skipped", "not_applicable")
RAN = frozenset({"passed", "failed", "error", "xfailed", "xpassed"})


@dataclasses.dataclass
class CaseResult:
    id: str
    check: str
    kind: str  # "example" or "property"
    params: Optional[dict]
    status: str
    message: str = ""
    duration_s: float = 0.0
    expected: Any = None
    observed: Any = None
    details: dict = dataclasses.field(default_factory=dict)
    reproduce: Optional[str] = None
    seed: Optional[int] = None

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}")

    def to_dict(self):
        d = dataclasses.asdict(self)
        return {k: v for k, v in d.items() if v is not None and v != {}}


def count(results):
    counts = {s: 0 for s in STATUSES}
    for r in results:
        counts[r.status] += 1
    return counts
