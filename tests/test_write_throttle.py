"""Progress writes are spaced by time and by their own cost; the final write is always due."""

from harness.report import atomic


def test_throttle_spaces_writes_by_interval_and_by_cost(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(atomic.time, "monotonic", lambda: now[0])
    t = atomic.WriteThrottle(interval_s=2.0, share=0.02)
    assert t.due()            # the first progress write
    now[0] += 0.2
    t.wrote()                 # it took 0.2 s: the next one waits 0.2 / 0.02 = 10 s, not 2 s
    now[0] += 3.0
    assert not t.due()
    assert t.due(final=True)  # a final write is never held back
    now[0] += 0.2
    t.wrote()
    now[0] += 9.0
    assert not t.due()
    now[0] += 1.5
    assert t.due()


def test_cheap_writes_keep_the_interval(monkeypatch):
    now = [0.0]
    monkeypatch.setattr(atomic.time, "monotonic", lambda: now[0])
    t = atomic.WriteThrottle(interval_s=2.0, share=0.02)
    assert t.due()
    now[0] += 0.001
    t.wrote()
    now[0] += 1.0
    assert not t.due()
    now[0] += 1.1
    assert t.due()
