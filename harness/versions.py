"""Versions of the interpreter, the libraries a run depends on, and the platform."""

import functools
import os
import platform
import sys
from importlib import metadata

# report key -> distribution names to try, in order
_DISTRIBUTIONS = {
    "tf_keras": ("tf-keras", "tf_keras"),
    "keras": ("keras",),
    "transformers": ("transformers",),
    "keras_hub": ("keras-hub", "keras_hub"),
    "numpy": ("numpy",),
    "hypothesis": ("hypothesis",),
}


def _dist_version(*names):
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
        except Exception:  # noqa: BLE001 - a broken install must not break a run
            continue
    return None


def _tensorflow_version():
    mod = sys.modules.get("tensorflow")
    if mod is None:
        try:
            import tensorflow as mod
        except Exception:  # noqa: BLE001
            mod = None
    version = getattr(mod, "__version__", None)
    if isinstance(version, str):
        return version
    return _dist_version("tensorflow-cpu", "tensorflow", "tensorflow-intel", "tensorflow-macos")


def _harness_version():
    try:
        import harness

        return str(harness.__version__)
    except Exception:  # noqa: BLE001
        return None


SOURCE_PACKAGES = ("harness", "suites", "reference", "keras_hub_resize", "golden")
# code that presents results but does not decide them (commands, report writers, benchmarks)
SOURCE_EXCLUDED = ("harness/cli.py", "harness/commands", "harness/certify.py", "harness/report", "harness/bench",
                   "harness/api.py", "harness/pytest_plugin.py", "harness/mutant_index.py", "harness/shard.py")


# files that only one adapter family runs: a change there does not touch the other families' results
FAMILY_SOURCES = {
    "transformers": ("harness/adapters/transformers_",),
    "keras_hub": ("harness/adapters/keras_hub_", "keras_hub_resize/"),
}


def _other_family(relpath, family):
    return family is not None and any(relpath.startswith(prefix) for fam, prefixes in FAMILY_SOURCES.items()
                                      if fam != family for prefix in prefixes)


@functools.cache
def source_digest(family=None):
    """sha256 (16 hex digits) of the sources that decide a case's result (checks, harness runner
    and adapters, reference, golden files; not the commands and report writers): which code made a
    report, so that ``certify --resume`` reuses a class report only if the same code made it.
    With ``family`` (``transformers``, ``keras_hub``) the other families' adapter code is left out."""
    import hashlib

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    digest = hashlib.sha256()
    for package in SOURCE_PACKAGES:
        base = os.path.join(root, package)
        for folder, dirs, files in os.walk(base):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__"
                             and os.path.relpath(os.path.join(folder, d), root) not in SOURCE_EXCLUDED)
            for name in sorted(f for f in files if f.endswith((".py", ".json", ".toml"))):
                path = os.path.join(folder, name)
                rel = os.path.relpath(path, root)
                if rel in SOURCE_EXCLUDED or _other_family(rel, family):
                    continue
                digest.update(os.path.relpath(path, root).encode() + b"\0")
                with open(path, "rb") as fh:
                    digest.update(fh.read() + b"\0")
    return digest.hexdigest()[:16]


def collect_versions():
    """``{python, tensorflow, tf_keras, keras, transformers, numpy, hypothesis, harness, platform}``;
    a package that is not installed is ``None``. Never raises. Cached per process (a fresh copy each call)."""
    return dict(_collect())


@functools.lru_cache(maxsize=1)
def _collect():
    versions = {"python": platform.python_version(), "tensorflow": _tensorflow_version()}
    for key, names in _DISTRIBUTIONS.items():
        versions[key] = _dist_version(*names)
    versions["harness"] = _harness_version()
    versions["harness_source"] = source_digest()
    from harness.isolation import WORKER_ONEDNN_DEFAULT

    versions["worker_tf_enable_onednn_opts"] = os.environ.get("TF_ENABLE_ONEDNN_OPTS", WORKER_ONEDNN_DEFAULT)
    try:
        versions["platform"] = platform.platform()
    except Exception:  # noqa: BLE001
        versions["platform"] = None
    return versions
