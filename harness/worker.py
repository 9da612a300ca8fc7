"""Worker process: runs cases for the parent (``harness.isolation``) over JSON lines.

Protocol on the worker's original stdout (the adapter's own prints go to stderr, which the
parent drains): the parent sends one ``config`` line, the worker answers ``plan``; then for
each ``{"type": "run", "id": ...}`` the worker answers ``{"type": "result", ...}``.
``{"type": "exit"}`` ends it. Startup problems answer ``{"type": "fatal", "message": ...}``.
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


def main():
    channel = _open_channel()
    from harness.proctree import become_subreaper

    become_subreaper()  # detached descendants re-parent here, so the parent can kill them all
    from harness.quiet import apply_defaults

    apply_defaults()
    config = json.loads(sys.stdin.readline())
    try:
        adapter, runner = _make_runner(config)
        plan = runner.plan()
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which reports it to the user
        _send(channel, {"type": "fatal", "message": f"{type(exc).__name__}: {exc}"})
        return 2
    cases = {c.id: c for c in plan}
    try:
        info = dict(adapter.describe())
    except Exception:  # noqa: BLE001
        info = {}
    _send(channel, {
        "type": "plan", "adapter": info, "capabilities": runner.caps.to_dict(),
        "cases": [{"id": c.id, "check": c.check.id, "kind": c.kind, "params": c.params,
                   "na_reason": c.na_reason} for c in plan],
    })
    tmp_root = config.get("tmp_root")
    for line in sys.stdin:
        message = json.loads(line)
        if message["type"] == "exit":
            break
        result = runner.run_case(cases[message["id"]], tmp_root)
        _send(channel, {"type": "result", "result": result.to_dict()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
