"""Case/Impl definitions, timing, the markdown table and results.json."""

from __future__ import annotations

import dataclasses
import gc
import json
import math
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


@dataclasses.dataclass
class Impl:
    """One implementation of a case.

    ``fn(inputs)`` returns the output; ``peer`` is False for imcorr itself.
    ``requires`` names a module that must import (else the row says 'not installed').
    """

    name: str
    fn: Callable[[dict], Any]
    peer: bool = True
    requires: str | None = None
    goal: bool = True  # False: an extra imcorr variant shown for context, not judged against the goal


@dataclasses.dataclass
class Case:
    """A benchmark case: shared inputs, implementations, an error measure and a goal.

    ``error(output, inputs) -> float`` measures accuracy against ground truth or a
    float64 reference (smaller is better). ``goal`` is the target ratio of imcorr's
    median time to the fastest peer's (None = report only). ``unit`` lets a case report
    e.g. images/s in ``note``.
    """

    name: str
    setup: Callable[[], dict]
    impls: list[Impl]
    error: Callable[[Any, dict], float]
    goal: float | None = None
    goal_text: str = ""
    repeat: int = 7
    accuracy_label: str = "max abs err"
    baseline: str | None = None  # ratio against this impl instead of the fastest peer


def _available(impl: Impl) -> bool:
    if impl.requires is None:
        return True
    try:
        __import__(impl.requires)
        return True
    except Exception:
        return False


def _time(fn: Callable, inputs: dict, repeat: int) -> tuple[float, Any]:
    out = fn(inputs)  # warm-up (page faults, plan caches, imports)
    times = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        out = fn(inputs)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3, out


def run_cases(cases: list[Case], repeat: int | None = None) -> list[dict]:
    rows: list[dict] = []
    print(f"# imcorr benchmarks ({platform.processor() or platform.machine()}, numpy {np.__version__})\n")
    print("| case | implementation | median ms | ratio to fastest peer | accuracy | goal |")
    print("|---|---|---:|---:|---|---|")
    for case in cases:
        inputs = case.setup()
        case_rows = []
        for impl in case.impls:
            row = {"case": case.name, "impl": impl.name, "peer": impl.peer}
            if not _available(impl):
                row.update(ms=None, error=None, status=f"{impl.requires} not installed")
            else:
                try:
                    ms, out = _time(impl.fn, inputs, repeat or case.repeat)
                    err = float(case.error(out, inputs))
                    row.update(ms=ms, error=err, status="ok")
                except Exception as exc:  # a peer failing is a result, not a crash
                    row.update(ms=None, error=None, status=f"failed: {type(exc).__name__}: {exc}"[:120])
            case_rows.append(row)
        impl_goal = {impl.name: impl.goal for impl in case.impls}
        peers = [r for r in case_rows if r["peer"] and r["ms"]]
        if case.baseline:
            peers = [r for r in case_rows if r["impl"] == case.baseline and r["ms"]]
        fastest = min((r["ms"] for r in peers), default=None)
        for r in case_rows:
            r["ratio"] = r["ms"] / fastest if (r["ms"] and fastest) else None
            goal = ""
            if not r["peer"] and case.goal is not None and r["ratio"] is not None and impl_goal[r["impl"]]:
                met = r["ratio"] <= case.goal
                goal = f"<= {case.goal:g}x {'MET' if met else 'NOT MET'}"
                r["goal"] = case.goal
                r["goal_met"] = met
            acc = "-" if r["error"] is None else f"{case.accuracy_label} {r['error']:.3g}"
            ms = "-" if r["ms"] is None else f"{r['ms']:.2f}"
            ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}"
            status = "" if r["status"] == "ok" else f" ({r['status']})"
            print(f"| {case.name} | {r['impl']}{status} | {ms} | {ratio} | {acc} | {goal or case.goal_text} |")
            rows.append(r)
        del inputs
        gc.collect()
    return rows


def write_results(rows: list[dict], path: str | Path) -> None:
    def clean(v):
        if isinstance(v, float) and not math.isfinite(v):
            return None
        return v

    payload = {
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "numpy": np.__version__},
        "rows": [{k: clean(v) for k, v in r.items()} for r in rows],
    }
    Path(path).write_text(json.dumps(payload, indent=1))
    print(f"\nwrote {path}")
