"""Hostile adapters for fault-injection tests: each misbehaves in one way on its checks."""

import os
import sys
import time

from harness.adapters.reference import ReferenceAdapter


class HangsInResize(ReferenceAdapter):
    """resize() to a real size never returns (resize(None) is fine)."""

    def resize(self, model, n):
        if n is None:
            return super().resize(model, n)
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
