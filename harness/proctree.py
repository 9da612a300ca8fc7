"""Make sure everything a worker started dies with it.

A worker runs in its own session, so killing its process group catches children that stay in
the group. A descendant that detaches itself (``setsid``, a daemonising double fork) leaves
that group; once its parent exits it would be re-parented to init and outlive the run. So:

* the worker makes itself a *child subreaper* (``become_subreaper``, Linux
  ``PR_SET_CHILD_SUBREAPER``): orphaned descendants are re-parented to the worker, not init;
* before the parent kills a worker it collects the worker's whole descendant tree from
  ``/proc`` (``descendants``) and kills every one of them (``kill_tree``).
"""

import ctypes
import os
import signal

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper():
    """Make this process the reaper of its orphaned descendants (Linux); False if unavailable."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _parents():
    """``{pid: ppid}`` of every process visible in /proc."""
    out = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return out
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read().decode("ascii", "replace")
            # pid (comm) state ppid ...: comm may hold spaces and parentheses
            out[int(name)] = int(stat[stat.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return out


def descendants(pid):
    """Every live descendant of ``pid`` (children first, breadth first)."""
    parents = _parents()
    children = {}
    for child, parent in parents.items():
        children.setdefault(parent, []).append(child)
    out, frontier = [], [pid]
    while frontier:
        nxt = []
        for p in frontier:
            for c in children.get(p, ()):
                if c not in out:
                    out.append(c)
                    nxt.append(c)
        frontier = nxt
    return out


def kill_tree(pid, pgid=None):
    """SIGKILL ``pid``'s descendants, its process group ``pgid`` and ``pid`` itself."""
    victims = descendants(pid)
    for target in victims:
        try:
            os.kill(target, signal.SIGKILL)
        except OSError:
            pass
    if pgid is not None:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except OSError:
            pass
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
    return victims
