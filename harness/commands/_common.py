"""What the commands share: the program name, exit codes, ``UsageError`` and the parser class that
raises it, option checks, report-directory preparation, signal handling, and loading manifests
and reports with one-line errors. Light at import (no TensorFlow)."""

import argparse
import contextlib
import math
import os
import shlex
import signal
import sys
import tempfile
import threading

from harness.gate import EXIT_GATE_FAILED, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE

__all__ = ["EXIT_GATE_FAILED", "EXIT_INTERNAL", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "EXIT_CODES", "PROFILES",
           "PROG", "Parser", "UsageError", "bind", "command_line", "load_manifest", "load_reports", "one_line",
           "positive_seconds", "prepare_report_dir", "print_error", "raise_interrupt", "signals",
           "write_report_and_html"]

PROG = "resize-conformance"
PROFILES = ("dev", "ci", "thorough")  # mirrors harness.profiles (not imported: it pulls in hypothesis)
EXIT_CODES = """\
exit codes:
  0    the gate passed
  1    the gate failed: a case failed or ended in an error, a strict expected failure
       passed, or fewer cases ran than were expected
  2    usage error or bad input (unknown adapter, bad option, unwritable report directory)
  3    internal error of the harness
  130  interrupted (Ctrl-C or SIGTERM); a partial report was written
"""


class UsageError(Exception):
    """Bad command line or input: exit 2 with a one-line message."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are ``UsageError`` (``harness.cli.main`` prints them)."""

    def error(self, message):
        raise UsageError(message)


def bind(parser, options_type, handler):
    """Dispatch ``parser``'s command: ``harness.cli.main`` calls
    ``handler(options_type.from_args(args, argv))``, the only place that reads the namespace."""
    parser.set_defaults(options_type=options_type, handler=handler)


def one_line(text):
    return " ".join(str(text).split())


def print_error(message):
    print(f"{PROG}: error: {one_line(message)}", file=sys.stderr, flush=True)


def command_line(argv):
    """The command as typed (recorded in reports)."""
    return f"{PROG} {shlex.join(argv)}"


def positive_seconds(option, value):
    """``value``, or UsageError unless it is a positive finite number of seconds."""
    if not (value > 0 and math.isfinite(value)):
        raise UsageError(f"{option} must be a positive number of seconds, not {value:g}")
    return value


def prepare_report_dir(path):
    """Create ``path`` and prove it is writable, or raise UsageError."""
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise UsageError(f"cannot write to report directory {path!r}: {exc.strerror or exc}") from exc
    return path


@contextlib.contextmanager
def signals(handler):
    """Route SIGTERM (and, with SIG_IGN, SIGINT) to ``handler`` inside the block (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    names = ("SIGTERM",) if handler is not signal.SIG_IGN else ("SIGTERM", "SIGINT")
    saved = {}
    for name in names:
        sig = getattr(signal, name, None)
        if sig is not None:
            saved[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in saved.items():
            signal.signal(sig, old)


def raise_interrupt(signum, frame):
    """A signal handler that turns SIGTERM into KeyboardInterrupt (a partial report is written)."""
    raise KeyboardInterrupt(f"signal {signum}")


def load_manifest(path):
    """Every entry of the expected-failures manifest at ``path`` (``[]`` without one)."""
    if not path:
        return []
    from harness import manifest

    try:
        return manifest.load(path)
    except manifest.ManifestError as exc:
        raise UsageError(f"bad expected-failures manifest: {exc}") from exc


def load_reports(paths):
    """Load and validate every report; a bad one raises UsageError naming the file (one line)."""
    from harness.report.build import load_report

    out = []
    for path in paths:
        try:
            out.append(load_report(path))
        except FileNotFoundError:
            raise UsageError(f"{path}: no such file") from None
        except IsADirectoryError:
            raise UsageError(f"{path}: is a directory without report.json") from None
        except UnicodeDecodeError as exc:
            raise UsageError(f"{path}: not a UTF-8 text file ({exc.reason})") from None
        except ValueError as exc:  # JSONDecodeError is a ValueError; so is a schema error
            raise UsageError(f"{path}: not a valid report.json: {one_line(exc)}") from None
        except OSError as exc:
            raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return out


def write_report_and_html(report, report_dir):
    """report.json and report.md (``write_report``) and the self-contained report.html; returns
    ``write_report``'s ``(json_path, md_path)``."""
    from harness.report import write_report, write_text_atomic
    from harness.report.html import render_html

    paths = write_report(report, report_dir)
    write_text_atomic(os.path.join(report_dir, "report.html"), render_html(report))
    return paths
