"""Atomic file writes: a reader sees the old file or the new one, never half of either; and
the throttle that spaces out the progress writes of a running report."""

import os
import tempfile
import time

PROGRESS_WRITE_S = 2.0


class WriteThrottle:
    """Progress writes at most every ``interval_s`` seconds; a final write is always due.

    Building and validating a report of hundreds of cases after every case cost a quarter of
    a run; an interrupt, a signal or an exception still writes the final report.
    """

    def __init__(self, interval_s=PROGRESS_WRITE_S):
        self.interval_s = interval_s
        self._last = None

    def due(self, final=False):
        now = time.monotonic()
        if not final and self._last is not None and now - self._last < self.interval_s:
            return False
        self._last = now
        return True


def write_text_atomic(path, text, encoding="utf-8"):
    """Write ``text`` to ``path`` via a temp file in the same directory, fsync, ``os.replace``.

    Creates the parent directories. The temp file is removed if anything fails.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="\n") as fh:
            if hasattr(os, "fchmod"):
                os.fchmod(fh.fileno(), _mode_for(path))
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)


def _mode_for(path):
    """Keep an existing file's mode; a new file gets rw-r--r-- (mkstemp's default is 0600)."""
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        return 0o644


def _fsync_dir(directory):
    """Persist the rename itself (best effort; not possible on every platform)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
