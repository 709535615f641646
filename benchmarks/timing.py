"""How things are timed: one thread everywhere, warm-up, then best of k runs.

`pin_threads` must run before numpy (or anything that loads a BLAS/OpenMP runtime) is
imported, so `run.py` calls it first. Garbage collection is paused while timing, as
`timeit` does. Nothing here asserts on a timing.
"""

from __future__ import annotations

import gc
import os
import resource
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
# seconds of untimed passes before a single-row loop: on this VM a loop of short calls
# measured up to 2x slower right after an idle second than after busy work
WARMUP_S = 0.5
SHORT_PASSES = 30  # a pass of single-row calls is short: the best of many is stable


def pin_threads() -> None:
    """Ask every native runtime for one thread (set before those runtimes load)."""
    for var in THREAD_VARIABLES:
        os.environ[var] = "1"


def best_of(fn: Callable[[], object], repeats: int, budget_s: float = 30.0,
            warmup: Callable[[], object] | None = None) -> float:
    """Seconds of the fastest of up to `repeats` timed calls of `fn`, after one untimed
    warm-up call (of `warmup`, default `fn`). Stops early once `budget_s` has been spent
    (there is always at least one timed call)."""
    (warmup or fn)()
    best = float("inf")
    spent = 0.0
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            elapsed = time.perf_counter() - start
            best, spent = min(best, elapsed), spent + elapsed
            if spent >= budget_s:
                break
    finally:
        if enabled:
            gc.enable()
    return best


def per_row_latency(score_one: Callable[[object], object], rows: Sequence[object],
                    repeats: int, budget_s: float = 30.0) -> float:
    """Seconds per call of `score_one(row)`, calling it once per row in a plain loop;
    best of at least `repeats` (and up to SHORT_PASSES, within the budget) passes over
    `rows`, after WARMUP_S of untimed passes."""
    def one_pass(subset: Sequence[object] = rows) -> None:
        for row in subset:
            score_one(row)

    def warm_up() -> None:  # long enough for the clock to settle, even for slow tools
        start = time.perf_counter()
        while time.perf_counter() - start < WARMUP_S:
            one_pass(rows[:20])

    return best_of(one_pass, max(repeats, SHORT_PASSES), budget_s, warmup=warm_up) / len(rows)


def stopwatch(fn: Callable[[], object]) -> tuple[float, object]:
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


@dataclass
class Bounded:
    """Outcome of a command run under a time limit."""

    seconds: float
    returncode: int | None  # None: killed at the time limit
    stdout: str
    stderr: str

    @property
    def timed_out(self) -> bool:
        return self.returncode is None


def memory_cap() -> int:
    """The address-space limit for bounded steps: 16 GiB, or 3/4 of the memory available
    now if less. Some steps (CREATE MACRO of a huge forest) would otherwise take all of a
    shared machine's memory; hitting the cap makes the step fail, and the table says so."""
    available = 16 << 30
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024 * 3 // 4
    except (OSError, ValueError):
        pass
    return min(16 << 30, available)


def _limit_memory(limit: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return apply


def run_bounded(cmd: Sequence[str], timeout_s: float, memory_limit: int | None = None
                ) -> Bounded:
    """Run `cmd` in its own process group, its address space capped at `memory_limit`
    bytes (default `memory_cap()`); kill the group if it outlives `timeout_s`."""
    start = time.perf_counter()
    proc = subprocess.Popen(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True,
                            preexec_fn=_limit_memory(memory_limit or memory_cap()))
    try:
        out, err = proc.communicate(timeout=timeout_s)
        return Bounded(time.perf_counter() - start, proc.returncode, out, err)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        return Bounded(time.perf_counter() - start, None, out, err)
