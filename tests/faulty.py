"""Hostile adapters for fault-injection tests: each misbehaves in one way on its checks."""

import os
import sys
import time

from harness.adapters.reference import ReferenceAdapter


def _announce_hang():
    """Create the file FAULTY_HANG_MARKER names, if set: a test knows the adapter has reached its hang."""
    marker = os.environ.get("FAULTY_HANG_MARKER")
    if marker:
        open(marker, "w").close()


class HangsInResize(ReferenceAdapter):
    """resize() to a real size never returns (resize(None) is fine). With FAULTY_HANG_MARKER set, it
    first creates that file: a test knows a case is in flight."""

    def resize(self, model, n):
        if n is None:
            return super().resize(model, n)
        _announce_hang()
        while True:
            time.sleep(0.5)


class HangsAtStartup(ReferenceAdapter):
    """The adapter's constructor never returns, so its worker never answers (with FAULTY_HANG_MARKER
    set, it first creates that file)."""

    def __init__(self, *args, **kwargs):
        _announce_hang()
        while True:
            time.sleep(0.5)


class ExitsInResize(ReferenceAdapter):
    """The worker process vanishes (os._exit) inside resize() to a real size."""

    def resize(self, model, n):
        if n is None:
            return super().resize(model, n)
        os._exit(17)


class SegfaultsInResize(ReferenceAdapter):
    """The worker process gets SIGSEGV inside resize() to a real size."""

    def resize(self, model, n):
        if n is None:
            return super().resize(model, n)
        import ctypes

        ctypes.string_at(0)


class FloodsOutput(ReferenceAdapter):
    """Prints ~20 MB on every resize."""

    def resize(self, model, n):
        chunk = "x" * 1023 + "\n"
        for _ in range(20 * 1024):
            sys.stdout.write(chunk)
        return super().resize(model, n)


class RaisesInBuild(ReferenceAdapter):
    def build(self, spec):
        raise RuntimeError("build exploded")


class RaisesInResize(ReferenceAdapter):
    def resize(self, model, n):
        raise RuntimeError("resize exploded")


class RaisesInReadBack(ReferenceAdapter):
    def read_config_vocab_size(self, model):
        raise KeyError("vocab_size")


class ReadsBackNaN(ReferenceAdapter):
    """Read-back returns NaN/Inf even for a freshly built model."""

    def read_input_matrix(self, model):
        m = super().read_input_matrix(model).copy()
        m[0, 0] = float("nan")
        return m


class ReadsBackWrongRank(ReferenceAdapter):
    def read_input_matrix(self, model):
        return super().read_input_matrix(model).ravel()


class ReadsBackStrings(ReferenceAdapter):
    def read_output_matrix(self, model):
        return [["a", "b"]]


class SharedConfig(ReferenceAdapter):
    """Builds every model from one shared config that resize mutates (a classic bug)."""

    def __init__(self):
        self.shared = {"vocab_size_override": None}

    def build(self, spec):
        import dataclasses

        n = self.shared["vocab_size_override"] or spec.vocab_size
        return super().build(dataclasses.replace(spec, vocab_size=n))

    def resize(self, model, n):
        out = super().resize(model, n)
        if isinstance(n, int):
            self.shared["vocab_size_override"] = n
        return out


class LeaksMemory(ReferenceAdapter):
    """Keeps 1.5 GB per real resize alive forever."""

    hoard = []

    def resize(self, model, n):
        if n is not None:
            # bytes, not np.ones: numpy madvises a block this size for transparent huge pages, and on
            # a 2-core VM with THP defrag "madvise" faulting those in took 16 s (bytes: 1.5 s)
            self.hoard.append(b"\x01" * (1536 * 1024 * 1024))
        return super().resize(model, n)


class DetachesAGrandchildThenHangs(ReferenceAdapter):
    """resize() starts a process that detaches itself (own session, double fork: its parent
    exits at once) and records its pid in $RESIZE_TEST_PIDFILE, then hangs."""

    def resize(self, model, n):
        if n is None:
            return super().resize(model, n)
        import subprocess

        script = ("import os, subprocess, sys, time\n"
                  "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'],"
                  " start_new_session=True)\n"
                  "open(os.environ['RESIZE_TEST_PIDFILE'], 'w').write(str(p.pid))\n")
        subprocess.run([sys.executable, "-c", script], check=True, start_new_session=True)
        while True:
            time.sleep(0.5)


class Clean(ReferenceAdapter):
    """The reference adapter under another name (a second subject of the ``faulty`` family)."""


_ORIGINAL_RESIZE = ReferenceAdapter.resize


def _off_by_one(self, model, n):
    return _ORIGINAL_RESIZE(self, model, None if n is None else n + 1)


class PatchesTheReference(ReferenceAdapter):
    """Leaves its process polluted: its first resize rebinds ``ReferenceAdapter.resize`` (for
    every adapter in the process) to one that grows one row too many."""

    def resize(self, model, n):
        ReferenceAdapter.resize = _off_by_one
        return _ORIGINAL_RESIZE(self, model, n)
