"""The machine a benchmark ran on (numbers mean little without it)."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess


def _first(path: str, prefix: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith(prefix):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def java_version() -> str:
    java = shutil.which("java")
    if not java:
        return "none"
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    return (out.stderr or out.stdout).splitlines()[0].strip() if (out.stderr or out.stdout) \
        else "unknown"


def describe() -> dict:
    from pyflink.version import __version__ as flink_version

    mem_kb = _first("/proc/meminfo", "MemTotal").split()[0]
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(int(mem_kb) / 1024 / 1024, 1) if mem_kb.isdigit() else None,
        "cpu_model": _first("/proc/cpuinfo", "model name"),
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
        "kernel": platform.release(),
        "python": platform.python_version(),
        "java": java_version(),
        "pyflink": flink_version,
    }


def load_avg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]
