"""The machine under test and its fp32 peak: cores x clock x SIMD lanes x 2 x FMA instructions per cycle.

A virtual machine hides the two numbers that matter (no cpufreq in sysfs; ``cpu MHz`` is the TSC
rate, not the clock the cores run at), so both are measured with tiny machine-code loops called
through ctypes:

- clock: a chain of 16 dependent 64-bit register adds per iteration (``add rax, rsi``; latency one
  cycle on every x86-64 core, and a register operand, which no core folds at rename), timed while
  every other core runs FMAs, so it is the all-core clock under vector load;
- FMA issue rate: 12 independent ``vfmadd231ps`` chains per iteration (enough to hide a 4-6 cycle
  latency on two pipes), timed at the same time, divided by that clock and rounded to whole pipes.

Lanes (16 fp32 with AVX-512F, 8 with AVX2+FMA) come from the CPU flags; cores are the physical cores
this process may run on. Each timed call lasts ~0.1 ms, well inside a scheduler time slice, and the
fastest of many is kept: other processes on the machine make a clean call rarer, not faster.
Peak = cores x clock x lanes x 2 (multiply and add) x FMA pipes; on x86-64 only (elsewhere the peak is
reported as unknown, with the reason).
"""
from __future__ import annotations

import ctypes
import mmap
import os
import platform
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from repro.provenance import cpu_flags

PROBE_ITERATIONS = 25_000  # per timed call: 400k cycles of adds, ~0.1 ms at 4 GHz
PROBE_CALLS = 400

# x86-64 encodings (System V ABI: iteration count in rdi). Listing: `as` + `objdump -d -M intel`.
_XOR_EAX_EAX = bytes.fromhex("31c0")
_ADD_RAX_RSI = bytes.fromhex("4801f0")
_DEC_RDI = bytes.fromhex("48ffcf")
_VZEROALL = bytes.fromhex("c5fc77")  # zero the vector registers: no denormal assists in the loop
_VZEROUPPER_RET = bytes.fromhex("c5f877c3")
_RET = bytes.fromhex("c3")
_FMA_CHAINS = 12


def _fma(dest: int, width: int) -> bytes:
    """``vfmadd231ps {z,y}mm<dest>, {z,y}mm14, {z,y}mm15`` for dest 0..11."""
    low, modrm = dest < 8, bytes([0xC7 + 8 * (dest % 8)])
    if width == 512:  # EVEX
        return bytes.fromhex("62d20d48b8" if low else "62520d48b8") + modrm
    return bytes.fromhex("c4c20db8" if low else "c4420db8") + modrm  # VEX, ymm


def _loop(body: bytes) -> bytes:
    """``body; dec rdi; jnz body``: the body repeated rdi times."""
    back = len(body) + len(_DEC_RDI) + 2
    return body + _DEC_RDI + bytes([0x75, 0x100 - back])


ADD_CHAIN = _XOR_EAX_EAX + _loop(_ADD_RAX_RSI * 16) + _RET
ADDS_PER_ITERATION = 16


def fma_loop(width: int) -> bytes:
    """Machine code of the FMA throughput loop for 512- or 256-bit vectors."""
    return _VZEROALL + _loop(b"".join(_fma(d, width) for d in range(_FMA_CHAINS))) + _VZEROUPPER_RET


class _Code:
    """Machine code in an executable page, callable as ``f(iterations, 1)``."""

    def __init__(self, code: bytes):
        self._page = mmap.mmap(-1, len(code), prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        self._page.write(code)
        address = ctypes.addressof(ctypes.c_char.from_buffer(self._page))
        self.call = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_uint64, ctypes.c_uint64)(address)

    def best_seconds(self, iterations: int, calls: int) -> float:
        """Fastest of ``calls`` timed calls (ctypes releases the GIL while the code runs)."""
        best = float("inf")
        for _ in range(calls):
            start = time.perf_counter_ns()
            self.call(iterations, 1)
            best = min(best, (time.perf_counter_ns() - start) * 1e-9)
        return best


@dataclass(frozen=True)
class Machine:
    """What the benchmark ran on, and its fp32 peak (``None`` when it could not be measured)."""

    cpu: str
    physical_cores: int
    logical_cpus: int
    simd: str  # "avx512", "avx2" or "none": the widest fp32 FMA the flags offer
    lanes: int  # fp32 lanes of that vector
    clock_ghz: float | None
    fma_per_cycle: float | None  # measured FMA instructions per cycle per core
    fma_pipes: int | None
    peak_gflops: float | None
    method: str  # how the peak was obtained, or why it is unknown

    def description(self) -> str:
        """One line: CPU, cores, SIMD, clock and peak."""
        peak = (f"{self.peak_gflops:.0f} GFLOP/s fp32 peak = {self.physical_cores} cores x "
                f"{self.clock_ghz:.2f} GHz x {self.lanes} lanes x 2 x {self.fma_pipes} FMA/cycle"
                if self.peak_gflops else f"fp32 peak unknown ({self.method})")
        return f"{self.cpu}, {self.physical_cores} physical cores ({self.logical_cpus} logical), " \
               f"{self.simd.upper()}; {peak}"

    def as_dict(self) -> dict:
        """JSON-ready fields."""
        return asdict(self)


def _cpuinfo() -> dict[str, str]:
    fields: dict[str, str] = {}
    path = Path("/proc/cpuinfo")
    if path.exists():
        for line in path.read_text().splitlines():
            key, _, value = line.partition(":")
            if not line.strip():
                break  # the first processor is enough
            fields.setdefault(key.strip(), value.strip())
    return fields


def _physical_cores(cpus: set[int]) -> int:
    """Distinct (package, core) pairs among ``cpus``: SMT siblings share their FMA units."""
    cores = set()
    for cpu in cpus:
        topology = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
        try:
            cores.add(((topology / "physical_package_id").read_text().strip(),
                       (topology / "core_id").read_text().strip()))
        except OSError:
            return len(cpus)
    return len(cores) or len(cpus)


def _simd(flags: set[str]) -> tuple[str, int]:
    if "avx512f" in flags:
        return "avx512", 16
    if {"avx2", "fma"} <= flags:
        return "avx2", 8
    return "none", 4


def _probe(width: int, cores: int) -> tuple[float, float]:
    """(clock GHz, FMA instructions per cycle per core), other cores busy with FMAs meanwhile."""
    adds, fmas = _Code(ADD_CHAIN), _Code(fma_loop(width))
    stop = threading.Event()

    def keep_busy() -> None:
        while not stop.is_set():
            fmas.call(PROBE_ITERATIONS, 1)

    helpers = [threading.Thread(target=keep_busy, daemon=True) for _ in range(cores - 1)]
    for helper in helpers:
        helper.start()
    try:
        clock = ADDS_PER_ITERATION * PROBE_ITERATIONS / adds.best_seconds(PROBE_ITERATIONS, PROBE_CALLS)
        fma_rate = _FMA_CHAINS * PROBE_ITERATIONS / fmas.best_seconds(PROBE_ITERATIONS, PROBE_CALLS)
    finally:
        stop.set()
        for helper in helpers:
            helper.join()
    return clock / 1e9, fma_rate / clock


def describe_machine(measure: bool = True) -> Machine:
    """The machine this process runs on; ``measure=False`` skips the probes (peak unknown)."""
    info = _cpuinfo()
    flags = cpu_flags()
    cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set(range(os.cpu_count() or 1))
    cores = _physical_cores(cpus)
    cpu = info.get("model name", platform.processor() or platform.machine())
    if "cpu family" in info:
        cpu += f" (family {info['cpu family']}, model {info.get('model', '?')})"
    simd, lanes = _simd(flags)
    unknown = dict(clock_ghz=None, fma_per_cycle=None, fma_pipes=None, peak_gflops=None)
    if not measure:
        return Machine(cpu, cores, len(cpus), simd, lanes, method="not measured (--no-peak)", **unknown)
    if platform.machine() not in ("x86_64", "AMD64") or simd == "none":
        return Machine(cpu, cores, len(cpus), simd, lanes, method=f"no probe for {platform.machine()} "
                       f"without AVX2/AVX-512", **unknown)
    try:
        clock, fma_per_cycle = _probe(512 if simd == "avx512" else 256, cores)
    except (OSError, ValueError) as exc:  # e.g. a kernel that forbids executable anonymous pages
        return Machine(cpu, cores, len(cpus), simd, lanes, method=f"probe failed: {exc}", **unknown)
    pipes = max(1, round(fma_per_cycle))
    peak = cores * clock * lanes * 2 * pipes
    method = (f"clock {clock:.2f} GHz measured with a dependent-add chain while the other cores ran "
              f"FMAs; {fma_per_cycle:.2f} {simd} FMA/cycle measured (rounded to {pipes}); lanes from "
              f"the CPU flags")
    return Machine(cpu, cores, len(cpus), simd, lanes, round(clock, 3), round(fma_per_cycle, 3), pipes,
                   round(peak, 1), method)
