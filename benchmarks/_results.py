"""What every benchmark writes with `--json PATH`, so `run_all.py` can tabulate them alike.

One row per measured path: the group it is compared within (same data, same run), the path,
its median seconds, its ratio to the group's baseline measured in the same run, and its peak
RSS. Absolute seconds are kept for the record; ratios are what compare across machines.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
from pathlib import Path
from typing import Any

__all__ = ["machine", "peak_rss_mb", "reset_peak_rss", "row", "rss_mb", "write_json"]


def _status_mb(key: str) -> float | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    return None


def peak_rss_mb() -> float:
    """VmHWM: this process's own peak RSS since exec or `reset_peak_rss()` (ru_maxrss, the
    fallback without /proc, would include a forked parent's)."""
    peak = _status_mb("VmHWM:")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss() -> None:
    """Start a new peak (Linux: writing 5 to clear_refs resets VmHWM), so building a
    benchmark's data in the same process does not count as the measured work's memory."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def rss_mb() -> float:
    """VmRSS now (what imports and setup cost before the timed part)."""
    return _status_mb("VmRSS:") or 0.0


def machine() -> dict[str, Any]:
    """The machine a run happened on, for the results file."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gib = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_gib, 1),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


def row(
    group: str,
    path: str,
    *,
    seconds: float,
    baseline_seconds: float,
    peak_rss_mb: float | None,
    rows: int | None = None,
    repeats: int = 1,
    baseline: bool = False,
    note: str = "",
) -> dict[str, Any]:
    return {
        "group": group,
        "path": path,
        "rows": rows,
        "seconds": round(seconds, 4),
        "ratio": round(seconds / baseline_seconds, 3) if baseline_seconds else None,
        "peak_rss_mb": None if peak_rss_mb is None else round(peak_rss_mb, 1),
        "repeats": repeats,
        "baseline": baseline,
        "note": note,
    }


def write_json(path: str | None, benchmark: str, rows: list[dict[str, Any]], **extra: Any) -> None:
    """Write the rows (and anything else worth keeping) when `--json` was given."""
    if not path:
        return
    out = {"benchmark": benchmark, "machine": machine(), "rows": rows, **extra}
    Path(path).write_text(json.dumps(out, indent=2, default=str) + "\n")
