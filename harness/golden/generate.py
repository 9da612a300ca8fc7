"""Generate golden cases from the reference, and compare a golden folder with a fresh generation."""

import dataclasses
import fnmatch
import os
import platform
import shutil
import tempfile

import numpy as np

from harness.golden import operations, store
from harness.golden.cases import all_cases


def default_dir():
    """``$RESIZE_CONFORMANCE_GOLDEN`` or the ``golden/`` folder at the top of the checkout."""
    env = os.environ.get("RESIZE_CONFORMANCE_GOLDEN")
    if env:
        return env
    return os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "golden")


def select(names, pattern):
    """Names matching ``pattern``: a glob if it has wildcards, else a substring; all if None."""
    if not pattern:
        return sorted(names)
    if any(ch in pattern for ch in "*?["):
        return sorted(n for n in names if fnmatch.fnmatchcase(n, pattern))
    return sorted(n for n in names if pattern in n)


def generated_by():
    import tensorflow as tf

    from harness import __version__

    return {"python": platform.python_version(), "tensorflow": tf.__version__, "numpy": np.__version__,
            "harness": __version__}


def generate(case):
    """``(meta, arrays)`` of a ``CaseDef`` computed by the reference."""
    from reference.matrix import RANDOM_STREAM
    arrays, expected = operations.get(case.operation).generate(dict(case.parameters), case.seed)
    meta = {"schema_version": store.SCHEMA_VERSION, "name": case.name, "operation": case.operation,
            "description": case.description, "parameters": dict(case.parameters), "seed": case.seed,
            "tolerance": case.tolerance, "expected": expected, "generated_by": generated_by(),
            "random_stream": RANDOM_STREAM}
    return meta, arrays


def regen(directory, pattern=None, prune=False):
    """Write the selected cases into ``directory``; with ``prune`` remove folders of cases that are
    no longer defined and orphaned entries. Returns ``(written, pruned)`` lists."""
    defined = all_cases()
    names = select(defined, pattern)
    written = []
    for name in names:
        meta, arrays = generate(defined[name])
        store.write_case(directory, meta, arrays)
        written.append(name)
    pruned = []
    if prune and os.path.isdir(directory):
        cases, orphans = store.scan(directory)
        stale = [path for name, path in cases.items() if name not in defined] + [p for p, _ in orphans]
        for path in stale:
            shutil.rmtree(path) if os.path.isdir(path) else os.unlink(path)
            pruned.append(path)
    return written, pruned


@dataclasses.dataclass
class Mismatch:
    case: str
    array: str
    message: str
    max_abs_diff: float = None
    tolerance: dict = None

    def line(self):
        return f"MISMATCH {self.case}: {self.array}: {self.message}"


@dataclasses.dataclass
class CheckResult:
    matched: list
    mismatches: list
    added: list       # defined but not stored: run 'golden regen'
    removed: list     # stored but no longer defined
    orphaned: list    # (path, reason)

    @property
    def ok(self):
        return not (self.mismatches or self.added or self.removed or self.orphaned)


def max_abs_diff(observed, expected):
    o, e = np.asarray(observed).astype(np.float64), np.asarray(expected).astype(np.float64)
    diff = np.where(np.isnan(o) & np.isnan(e), 0.0, np.abs(o - e))
    diff = np.where(np.isnan(diff), np.inf, diff)
    return float(diff.max()) if diff.size else 0.0, diff


def compare_arrays(case, key, observed, expected, tolerance):
    """A ``Mismatch`` or None: shapes and dtypes equal, values within ``atol + rtol*|expected|``."""
    if list(np.shape(observed)) != list(np.shape(expected)):
        return Mismatch(case, key, f"shape {list(np.shape(observed))}, stored {list(np.shape(expected))}")
    if store.dtype_name(observed) != store.dtype_name(expected):
        return Mismatch(case, key, f"dtype {store.dtype_name(observed)}, stored {store.dtype_name(expected)}")
    worst, diff = max_abs_diff(observed, expected)
    bound = tolerance["atol"] + tolerance["rtol"] * np.abs(np.asarray(expected).astype(np.float64))
    bad = diff > bound
    if bad.any():
        idx = [int(i) for i in np.argwhere(bad)[0]]
        return Mismatch(case, key, f"max abs diff {worst:.6g} > tolerance (atol={tolerance['atol']:g}, "
                        f"rtol={tolerance['rtol']:g}); {int(bad.sum())} of {bad.size} values differ, "
                        f"first at index {idx}", worst, dict(tolerance))
    return None


def compare_case(stored_meta, stored_arrays, new_meta, new_arrays):
    """Every difference between a stored case and a regenerated one."""
    name, out = stored_meta["name"], []
    for key in ("operation", "parameters", "seed", "tolerance", "expected"):
        if stored_meta.get(key) != new_meta.get(key):
            out.append(Mismatch(name, f"case.json {key}", f"{new_meta.get(key)!r} now, stored {stored_meta.get(key)!r}"))
    # Values are compared with the stricter of the two tolerances: neither a loosened file nor a
    # loosened definition lets a changed number through (the tolerance mismatch is reported above).
    tolerance = {k: min(stored_meta["tolerance"][k], new_meta["tolerance"][k]) for k in ("atol", "rtol")}
    for key in sorted(set(stored_arrays) | set(new_arrays)):
        if key not in new_arrays or key not in stored_arrays:
            where = "only stored" if key in stored_arrays else "only regenerated"
            out.append(Mismatch(name, key, f"array {where}"))
            continue
        m = compare_arrays(name, key, new_arrays[key], stored_arrays[key], tolerance)
        if m:
            out.append(m)
    return out


def check(directory, pattern=None):
    """Regenerate every defined case into a temporary folder and compare with ``directory``.

    Raises ``store.GoldenFormatError`` for an unreadable case (bad input)."""
    if not os.path.isdir(directory):
        raise store.GoldenFormatError(f"{directory}: not a directory")
    defined = all_cases()
    stored, orphans = store.scan(directory)
    wanted = set(select(set(defined) | set(stored), pattern))
    result = CheckResult([], [], sorted(n for n in wanted if n in defined and n not in stored),
                         sorted(n for n in wanted if n in stored and n not in defined),
                         [o for o in orphans if not pattern or select([os.path.basename(o[0])], pattern)])
    loaded = {name: store.read_case(stored[name]) for name in sorted(wanted & set(stored))}
    tmp = tempfile.mkdtemp(prefix="golden-check-")
    try:
        for name in sorted(wanted & set(stored) & set(defined)):
            meta, arrays = generate(defined[name])
            folder = store.write_case(tmp, meta, arrays)
            new_meta, new_arrays = store.read_case(folder)
            problems = compare_case(*loaded[name], new_meta, new_arrays)
            (result.mismatches.extend(problems) if problems else result.matched.append(name))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return result


def load_all(directory):
    """``{name: (meta, arrays)}`` of every valid case in ``directory`` (invalid ones raise)."""
    stored, _ = store.scan(directory)
    return {name: store.read_case(path) for name, path in stored.items()}
