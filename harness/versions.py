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
    from harness.isolation import WORKER_ONEDNN_DEFAULT

    versions["worker_tf_enable_onednn_opts"] = os.environ.get("TF_ENABLE_ONEDNN_OPTS", WORKER_ONEDNN_DEFAULT)
    try:
        versions["platform"] = platform.platform()
    except Exception:  # noqa: BLE001
        versions["platform"] = None
    return versions
