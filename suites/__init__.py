"""The check suites: one module per property family. Importing registers every check."""

from suites import grow  # noqa: F401
