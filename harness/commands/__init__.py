"""The commands of ``resize-conformance``, one module each (``harness.cli.COMMANDS``); what they
share (``UsageError``, exit codes, report directories, signals) is in ``_common``."""
