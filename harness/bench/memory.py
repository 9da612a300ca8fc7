"""Peak extra memory of one call, read from the kernel (Linux ``/proc/self``).

The bench runs each case in a fresh process: allocate the source, warm up, then
``PeakMeter``: baseline = current RSS, peak counter reset (``clear_refs`` 5 resets VmHWM), call,
extra = VmHWM - baseline. Where ``clear_refs`` is not writable, a thread samples RSS every
millisecond instead (``method`` says which was used).
"""

import threading
import time

STATUS = "/proc/self/status"


def _status_kb(key):
    try:
        with open(STATUS, encoding="ascii") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def rss_bytes():
    kb = _status_kb("VmRSS")
    return None if kb is None else kb * 1024


def hwm_bytes():
    kb = _status_kb("VmHWM")
    return None if kb is None else kb * 1024


def reset_peak():
    """Reset VmHWM to the current RSS; False when the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
    except OSError:
        return False
    return hwm_bytes() is not None and hwm_bytes() <= (rss_bytes() or 0) + 64 * 1024


class _Sampler:
    def __init__(self, interval_s=0.001):
        self.peak = rss_bytes() or 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, args=(interval_s,), daemon=True)
        self.thread.start()

    def _loop(self, interval_s):
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_bytes() or 0)
            time.sleep(interval_s)

    def finish(self):
        self.stop.set()
        self.thread.join()
        self.peak = max(self.peak, rss_bytes() or 0)
        return self.peak


class PeakMeter:
    """``with PeakMeter() as m: work()`` then ``m.extra`` (bytes above the RSS at entry)."""

    def __enter__(self):
        self.baseline = rss_bytes()
        if self.baseline is None:
            raise OSError(f"{STATUS} is not readable: peak memory needs Linux /proc")
        self.method = "VmHWM after clear_refs" if reset_peak() else "RSS sampled every 1 ms"
        self._sampler = None if self.method.startswith("VmHWM") else _Sampler()
        return self

    def __exit__(self, *exc):
        peak = hwm_bytes() if self._sampler is None else self._sampler.finish()
        self.peak = peak
        self.extra = max(0, peak - self.baseline)
        self.after = rss_bytes()
        return False
