"""tf-resize-conformance harness: adapter protocol and registry, check catalogue, runner, reports, CLI."""

__version__ = "0.1.0"
