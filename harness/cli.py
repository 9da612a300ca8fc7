"""The ``resize-conformance`` command line: builds the parser from the command modules and
dispatches, mapping errors to exit codes (``harness.commands._common.EXIT_CODES``).

Each command is one module of ``harness.commands`` with ``register(subparsers, parser_class)``
(adds its parser and ``bind``s an options dataclass and a handler); ``main`` builds the options
with ``from_args(args, argv)`` and returns ``handler(options)``, an exit code. A handler raises
``UsageError`` for bad input. The modules import TensorFlow lazily, so ``--help`` is fast.
"""

import argparse
import sys
import traceback

from harness.commands import (
    bench,
    certify,
    diff,
    env_error,
    golden,
    junit,
    list_adapters,
    list_checks,
    merge,
    run,
)
from harness.commands._common import (
    EXIT_CODES,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    Parser,
    UsageError,
    print_error,
)

# in the order ``--help`` lists them
COMMANDS = (run, list_checks, list_adapters, certify, merge, golden, diff, junit, env_error, bench)


def build_parser():
    parser = Parser(prog=PROG, description="Conformance suite for vocabulary-resize implementations "
                    "in TensorFlow models.", epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="store_true", help="print the harness version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.register(sub, Parser)
    return parser


def main(argv=None):
    """Entry point; returns the exit code (see ``EXIT_CODES``)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        print_error(f"{exc} (see '{PROG} --help')")
        return EXIT_USAGE
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    if args.version:
        from harness import __version__

        print(f"{PROG} {__version__}")
        return EXIT_OK
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    _quiet_tensorflow()
    try:
        return args.handler(args.options_type.from_args(args, argv))
    except UsageError as exc:
        print_error(exc)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the harness's own bug: report it, exit 3
        traceback.print_exc()
        print_error(f"internal error: {type(exc).__name__}: {exc}")
        return EXIT_INTERNAL


def _quiet_tensorflow():
    """Hide TF's C++ info/warnings and its Python warnings (e.g. retracing) unless the user
    asked for them with TF_CPP_MIN_LOG_LEVEL=0 or 1, and transformers' banner unless
    TRANSFORMERS_VERBOSITY is set (``harness.quiet``). Must run before TensorFlow is imported."""
    from harness.quiet import apply_defaults

    apply_defaults()


if __name__ == "__main__":
    sys.exit(main())
