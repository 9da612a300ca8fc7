"""tf-resize-conformance harness: adapter protocol, check registry, runner, reports, CLI."""

__version__ = "0.1.0"
