"""Subcommands beyond run/list-checks/list-adapters; see ``harness.cli.COMMAND_MODULES``."""
