"""A process and every descendant, and their resident memory, read from /proc (Linux):
what the benchmarks sample to report the peak RSS of a job and its runner's workers."""

from __future__ import annotations

import os


def process_tree(root: int) -> list[int]:
    """`root` and every process below it (children, their children, ...)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                # The parent pid is the second field after the command name's ")".
                ppid = int(handle.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def status_kb(pid: int, field: str) -> int:
    """A kB field of /proc/PID/status (`VmRSS`, `VmHWM`, ...); 0 once the process ended."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, IndexError, ValueError):
        pass
    return 0


def tree_rss_bytes(root: int) -> int:
    """Resident memory of `root` and its descendants now."""
    return sum(status_kb(pid, "VmRSS") for pid in process_tree(root)) * 1024
