"""Hypothesis profiles for property cases: ``dev`` (fast), ``ci``, ``thorough``.

Registered with hypothesis as ``resize-<name>`` so they never clash with a
user's own profiles. No example database: runs are reproducible from the seed.
"""

from hypothesis import HealthCheck, Phase, settings

_BASE = dict(
    deadline=None,
    database=None,
    derandomize=False,
    print_blob=True,
    suppress_health_check=list(HealthCheck),
)
MAX_EXAMPLES = {"dev": 3, "ci": 8, "thorough": 100}
PROFILES = {}
for _name, _n in MAX_EXAMPLES.items():
    PROFILES[_name] = settings(max_examples=_n, **_BASE)
    settings.register_profile(f"resize-{_name}", PROFILES[_name])

DEFAULT_PROFILE = "ci"


def get(name):
    if name not in PROFILES:
        raise ValueError(f"unknown hypothesis profile {name!r}; choose from {sorted(PROFILES)}")
    return PROFILES[name]


def without_shrinking(profile):
    """Same profile, no shrink phase (for quick mutant runs)."""
    return settings(profile, phases=[Phase.explicit, Phase.reuse, Phase.generate])
