"""Provenance of every result: library versions, git commit, machine, time; file and array hashes."""
from __future__ import annotations

import hashlib
import importlib.metadata
import os
import platform
import subprocess
import time
from pathlib import Path

from repro.compute_threads import compute_threads

_LIBRARIES = ("mxnet", "gluoncv", "numpy", "pandas", "matplotlib", "opencv-python",
              "opencv-contrib-python")


def library_versions() -> dict[str, str]:
    """Installed versions of the stack (``"absent"`` for a library that is not installed)."""
    versions = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def git_commit(start: Path | None = None) -> str:
    """The commit of the checkout holding this package (``-dirty`` if modified), or ``"unknown"``."""
    where = start or Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True,
                                text=True, check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where,
                               capture_output=True, text=True, check=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "")


def _cpuinfo_field(name: str) -> str:
    """The first ``name`` line of ``/proc/cpuinfo`` ("" where there is none)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == name and value.strip():
                return value.strip()
    except OSError:
        pass
    return ""


def cpu_model() -> str:
    """The processor's model name (``/proc/cpuinfo``; the platform's processor string elsewhere)."""
    return _cpuinfo_field("model name") or platform.processor() or platform.machine()


def cpu_flags() -> set[str]:
    """The processor's feature flags (``/proc/cpuinfo``; empty where there is none)."""
    return set(_cpuinfo_field("flags").split())


def machine() -> dict[str, object]:
    """What ran the computation: OS, processor model, core count, and the compute threads used."""
    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpu_model": cpu_model(), "cpu_count": os.cpu_count(), "compute_threads": compute_threads().record()}


def manifest(**fields: object) -> dict[str, object]:
    """A provenance record: the caller's fields plus versions, commit, machine and a UTC timestamp."""
    return {**fields, "libraries": library_versions(), "git_commit": git_commit(),
            "machine": machine(), "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()
