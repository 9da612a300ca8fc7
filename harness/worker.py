"""Worker process: runs cases for the parent (``harness.isolation``) over JSON lines.

Protocol on the worker's original stdout (the adapter's own prints go to stderr, which the
parent drains): the parent sends one ``config`` line, the worker answers ``plan``; then for
each ``{"type": "run", "id": ...}`` the worker answers ``{"type": "result", ...}``.
``{"type": "exit"}`` ends it. Startup problems answer ``{"type": "fatal", "message": ...}``.
A warm worker (``harness.warm``) takes another ``config`` line for the next class: it resets the
framework state and answers ``plan``, or ``polluted`` (then exits) when the previous class left
state that cannot be reset, so the parent starts a fresh process.
"""

import json
import os
import sys


def _open_channel():
    """Keep the real stdout for the protocol; send fd 1 (prints, C++ logs) to stderr."""
    channel = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return channel


def _send(channel, message):
    from harness.report.build import to_jsonable

    channel.write(json.dumps(to_jsonable(message)) + "\n")
    channel.flush()


def _make_runner(config):
    from harness.registry import resolve
    from harness.runner import ExpectedFailure, Runner

    adapter = resolve(config["adapter_spec"])
    xfails = [ExpectedFailure(**x) for x in config.get("expected_failures", [])]
    runner = Runner(adapter, adapter_spec=config["adapter_spec"], seed=config["seed"],
                    profile=config["profile"], timeout_s=config["timeout_s"] * 10,
                    select=config["select"], expected_failures=xfails, shrink=config["shrink"])
    return adapter, runner


def _start_class(channel, config):
    """Resolve the adapter and plan; send ``plan`` (or ``fatal``). Returns the runnable cases or None."""
    from harness.scenario import plain

    try:
        adapter, runner = _make_runner(config)
        plan = runner.plan()
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which reports it to the user
        _send(channel, {"type": "fatal", "message": f"{type(exc).__name__}: {exc}"})
        return None, None
    try:
        info = dict(adapter.describe())
    except Exception:  # noqa: BLE001
        info = {}
    _send(channel, {
        "type": "plan", "adapter": info, "capabilities": runner.caps.to_dict(),
        "cases": [{"id": c.id, "check": c.check.id, "kind": c.kind, "params": plain(c.params),
                   "na_reason": c.na_reason} for c in plan],
    })
    return runner, {c.id: c for c in plan}


def main():
    channel = _open_channel()
    from harness.proctree import become_subreaper

    become_subreaper()  # detached descendants re-parent here, so the parent can kill them all
    from harness.quiet import apply_defaults

    apply_defaults()
    config = json.loads(sys.stdin.readline())
    runner, cases = _start_class(channel, config)
    if runner is None:
        return 2
    from harness import warm

    clean = warm.Fingerprint()  # after the first class's imports, before any of its cases
    warm.settle()
    tmp_root = config.get("tmp_root")
    for line in sys.stdin:
        message = json.loads(line)
        if message["type"] == "exit":
            break
        if message["type"] == "config":  # warm reuse: the next class, in a clean state or not at all
            runner = cases = None
            warm.reset()
            changed = clean.changes()
            if changed:
                _send(channel, {"type": "polluted", "message": "; ".join(changed)})
                return 0
            runner, cases = _start_class(channel, message)
            if runner is None:
                return 2
            clean = warm.Fingerprint()  # now covering the modules this class imported too
            warm.settle()
            tmp_root = message.get("tmp_root")
            continue
        result = runner.run_case(cases[message["id"]], tmp_root)
        _send(channel, {"type": "result", "result": result.to_dict()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
