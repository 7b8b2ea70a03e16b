"""The batch engine's chunking and worker thread limits."""

from __future__ import annotations

import imcorr
from imcorr._core import fft, pairpool
from imcorr.parallel.engine import JOB_KINDS, TARGET_CHUNK_SECONDS, _ChunkSizer, register_job


def test_chunk_sizer_probes_then_targets_the_work_per_chunk():
    sizer = _ChunkSizer(None, slots=2)
    assert sizer.next_size(1000) == 1  # nothing measured yet: one task per chunk
    sizer.observe([{"seconds": 0.01}] * 4)
    assert sizer.next_size(1000) == round(TARGET_CHUNK_SECONDS / 0.01)
    assert sizer.next_size(30) == 30 // 4  # the tail shrinks: every slot gets work to the end
    assert sizer.next_size(3) == 1
    sizer.observe([{"seconds": 0.07}])  # the running mean: (4 x 0.01 + 0.07) / 5 = 0.022 s
    assert sizer.next_size(1000) == round(TARGET_CHUNK_SECONDS / 0.022)
    slow = _ChunkSizer(None, slots=2)
    slow.observe([{"seconds": 2.0}])
    assert slow.next_size(1000) == 1  # a slow task goes alone
    assert _ChunkSizer(7, slots=2).next_size(3) == 7  # chunk_size= is kept as given


def _threads_seen(task, options):
    return {"fft_workers": fft.get_workers(), "split": bool(pairpool._PARALLEL)}


def test_every_task_once_with_adaptive_chunks():
    register_job("engine-test-square", inputs=("a",), columns=lambda options: (("square", float),),
                 run=lambda task, options: {"square": float(task["a"]) ** 2})
    try:
        res = imcorr.run_batch("engine-test-square", ({"a": i} for i in range(500)), scheduler="threads", workers=2)
    finally:
        del JOB_KINDS["engine-test-square"]
    rows = res.to_rows()
    assert [r["index"] for r in rows] == list(range(500))
    assert all(r["square"] == float(r["a"]) ** 2 for r in rows)


def test_worker_processes_hold_imcorr_to_one_thread_the_caller_keeps_its_settings():
    register_job("engine-test-threads", inputs=("a",),
                 columns=lambda options: (("fft_workers", int), ("split", bool)), run=_threads_seen)
    before = (fft.get_workers(), pairpool._PARALLEL)
    try:
        local = imcorr.run_batch("engine-test-threads", [{"a": 0}, {"a": 1}], scheduler="threads", workers=2)
        procs = imcorr.run_batch("engine-test-threads", [{"a": i} for i in range(4)], scheduler="processes",
                                 workers=2)
    finally:
        del JOB_KINDS["engine-test-threads"]
    assert all(r["fft_workers"] == before[0] for r in local.to_rows())  # the caller's process: untouched
    assert (fft.get_workers(), pairpool._PARALLEL) == before
    rows = procs.to_rows()
    assert all(r["status"] == "ok" for r in rows), rows
    assert all(r["fft_workers"] == max(1, imcorr.parallel._executors.usable_cores() // 2) for r in rows)
    if imcorr.parallel._executors.usable_cores() <= 2:
        assert not any(r["split"] for r in rows)
