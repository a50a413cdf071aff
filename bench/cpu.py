"""CPU time per process tree, from /proc: where each run's time goes, and who else was busy.

On a 2-core machine the shop's throughput is bounded by CPU, so "CPU ms per request" in
gunicorn, PostgreSQL and Redis says where a page's cost lies without any profiler overhead,
and the CPU used by processes that are not ours says whether a run's figures are to be
trusted (another job on the machine slows the pages, and the ceiling only partly cancels it).
"""

import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: str) -> tuple[int, float] | None:
    """(parent pid, CPU seconds of the process and its reaped children)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # gone since the directory listing
        return None
    fields = text[text.rindex(")") + 2 :].split()
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    return int(fields[1]), (utime + stime + cutime + cstime) / TICK


def _machine_busy() -> float:
    """CPU seconds all cores spent on anything but idle and iowait since boot."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = (
        int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    return (user + nice + system + irq + softirq + steal) / TICK


@dataclass
class Snapshot:
    at: float
    machine: float
    trees: dict[str, float]
    children: float  # this process's reaped children (wrk) and itself

    @classmethod
    def take(cls, roots: dict[str, int]) -> "Snapshot":
        stats = {pid: s for pid in os.listdir("/proc") if pid.isdigit() and (s := _stat(pid))}
        kids: dict[int, list[int]] = {}
        for pid, (ppid, _cpu) in stats.items():
            kids.setdefault(ppid, []).append(int(pid))
        trees = {}
        for name, root in roots.items():
            total, todo = 0.0, [root]
            while todo:
                pid = todo.pop()
                if str(pid) in stats:
                    total += stats[str(pid)][1]
                todo.extend(kids.get(pid, []))
            trees[name] = total
        mine = resource.getrusage(resource.RUSAGE_SELF)
        reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
        own = mine.ru_utime + mine.ru_stime + reaped.ru_utime + reaped.ru_stime
        return cls(time.monotonic(), _machine_busy(), trees, own)


def usage(before: Snapshot, after: Snapshot, requests: int) -> dict:
    """CPU ms per request in each tree, and the share of the machine others used meanwhile.

    `load generator and harness` is this process plus its finished children (wrk);
    `others` is whatever the machine did besides: other jobs, the kernel's own threads.
    """
    spent = {name: after.trees[name] - before.trees[name] for name in after.trees}
    spent["load generator and harness"] = after.children - before.children
    others = (after.machine - before.machine) - sum(spent.values())
    elapsed = after.at - before.at
    cores = len(os.sched_getaffinity(0))
    return {
        "cpu_ms_per_request": {
            name: round(seconds * 1000 / requests, 2) if requests else None
            for name, seconds in spent.items()
        },
        "machine_busy_share": round((after.machine - before.machine) / (elapsed * cores), 3),
        "others_share": round(max(others, 0.0) / (elapsed * cores), 3),
    }
