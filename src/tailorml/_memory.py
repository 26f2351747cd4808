"""Peak resident memory of this process."""

from __future__ import annotations


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB.

    Reads ``VmHWM`` from ``/proc/self/status`` on Linux: ``ru_maxrss`` is carried over from the
    parent through fork and exec, so a child started by a large process would report the
    parent's peak. Falls back to ``ru_maxrss`` elsewhere.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
