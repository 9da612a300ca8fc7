"""The check suites: one module per property family. Importing the package registers every check.

Every public module here (name not starting with ``_``) is a suite and is imported below, so a new
suite needs no list to be edited. The harness finds this package through the entry point
``tf_resize_conformance.suites: core = "suites"`` (pyproject.toml), never by importing it.
"""

import importlib
import pkgutil

SUITE_MODULES = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))

for _name in SUITE_MODULES:
    importlib.import_module(f"{__name__}.{_name}")
