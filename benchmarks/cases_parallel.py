"""Scale-out on Dask (issue 16).

* ``pairs 1000x256^2``: compare_pairs (pearson + ssim + shift) over 1,000 PNG pairs of 256^2, on a
  2-worker ``distributed.LocalCluster`` (processes, 1 thread each) vs the local thread pool (2 threads) vs
  the serial loop: the engine's per-pair function (load both images, the three metrics) in a plain loop in
  this process, at its best thread setting (two "peers": imcorr's thread pools at their default, and held
  to one thread; the fastest is the reference). Goals: the cluster within
  1.3x of the local pool, and >= 1.7x faster than the serial loop. All three run with the engine's glibc
  malloc thresholds (``imcorr.parallel.engine.tune_malloc``: set in this process by the setup, in the
  workers by the engine), so the ratios measure parallelism, not allocation. Accuracy: max abs difference of every
  value (r, SSIM, dy, dx) from the serial loop's.
* ``match_template 4096^2`` and ``displacement_field 2048^2``: the tiled functions against the in-memory
  call on an image that fits (report only: the cost of tiling; accuracy = max abs difference).
* ``localmap 16384^2 tiled`` (select it alone: ``make bench BENCH_ARGS="--only 'localmap 16384'"``; it
  writes 2 x 1 GiB of .npy inputs and a 2 GiB Zarr map to a temporary folder): local_correlation_tiled on
  two 16,384^2 float32 ``.npy`` memmaps, 2048^2 chunks, window 15, to Zarr, with the process's peak
  anonymous memory (RssAnon from /proc/self/status, sampled every 20 ms) and its throughput next to the
  in-memory call on a 4096^2 pair. Goal: peak RssAnon < 1.5 GB. Accuracy: max abs difference from the
  in-memory map on a 2600^2 crop spanning four chunks' corner (interior of the crop only).
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

import imcorr

from ._data import photo_mosaic
from ._harness import Case, Impl

N_PAIRS = 1000
SIZE = 256
METRICS = ("pearson", "ssim", "shift")


@functools.cache
def _workdir() -> Path:
    d = Path(tempfile.mkdtemp(prefix="imcorr-bench-parallel-"))
    atexit.register(shutil.rmtree, d, ignore_errors=True)
    return d


@functools.cache
def _pairs() -> list[tuple[str, str]]:
    """1,000 PNG pairs of 256^2: crops of a photo mosaic and the same crop moved by a known shift + noise."""
    from PIL import Image
    from scipy import ndimage

    scene = photo_mosaic((2048, 2048), np.float32, seed=3)
    scene = (255 * (scene - scene.min()) / (scene.max() - scene.min())).astype(np.float64)
    rng = np.random.default_rng(0)
    d = _workdir() / "pairs"
    d.mkdir()
    out = []
    for i in range(N_PAIRS):
        y, x = (int(v) for v in rng.integers(8, 2048 - SIZE - 8, 2))
        shift = rng.uniform(-4, 4, 2)
        a = scene[y : y + SIZE, x : x + SIZE]
        b = ndimage.shift(scene[y - 8 : y + SIZE + 8, x - 8 : x + SIZE + 8], shift, order=1)[8:-8, 8:-8]
        b = b + rng.normal(0, 3, b.shape)
        pa, pb = d / f"a{i}.png", d / f"b{i}.png"
        Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).save(pa)
        Image.fromarray(np.clip(b, 0, 255).astype(np.uint8)).save(pb)
        out.append((str(pa), str(pb)))
    return out


@functools.cache
def _cluster():
    from distributed import LocalCluster

    lc = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    atexit.register(lc.close)
    return lc


def _serial_values(pairs) -> np.ndarray:
    """The plain loop: the three metrics called directly on the loaded images, one pair after another."""
    vals = []
    for pa, pb in pairs:
        a, b = imcorr.load(pa, gray=True), imcorr.load(pb, gray=True)
        sh = imcorr.estimate_shift(a, b)
        vals.append((imcorr.pearson(a, b).r, imcorr.ssim(a, b).ssim, sh.shift[0], sh.shift[1]))
    return np.array(vals)


def _engine_values(res) -> np.ndarray:
    rows = res.to_rows()
    assert all(r["status"] == "ok" for r in rows), [r["error"] for r in rows if r["status"] != "ok"][:3]
    return np.array([(r["pearson"], r["ssim"], r["dy"], r["dx"]) for r in rows])


def _pairs_setup():
    from imcorr.parallel.engine import tune_malloc

    tune_malloc()  # the serial loop and the local pool get the same malloc thresholds as the cluster's workers
    pairs = _pairs()
    cluster = _cluster()
    # warm-up, as the serial loop's process is warm (its reference values below): the worker processes
    # import imcorr, scipy and the metrics' first-call caches on a few pairs, outside the timed runs
    imcorr.compare_pairs(pairs[:8], metrics=METRICS, scheduler=cluster.scheduler_address)
    return {"pairs": pairs, "address": cluster.scheduler_address, "ref": _serial_values(pairs[:100])}


def _pairs_err(out, d) -> float:
    return float(np.max(np.abs(out[:100] - d["ref"])))


def _on_cluster(d):
    return _engine_values(imcorr.compare_pairs(d["pairs"], metrics=METRICS, scheduler=d["address"]))


def _on_pool(d):
    """The default local pool for these metrics: 2 processes (``shift`` holds the GIL), start-up included."""
    return _engine_values(imcorr.compare_pairs(d["pairs"], metrics=METRICS, workers=2))


def _serial_loop(pairs, threads: int | None) -> np.ndarray:
    """The serial baseline: the engine's own per-pair function (load both images, the three metrics) in a
    plain loop in this process, with imcorr's internal thread pools at their default (``threads=None``:
    FFT on every core, registration's two-branch split) or held to one thread (``threads=1``)."""
    from imcorr._core import fft, pairpool
    from imcorr.parallel.pairs import _run_pair

    old_fft, old_split = fft.get_workers(), pairpool._PARALLEL
    if threads == 1:
        fft.set_workers(1)
        pairpool.set_enabled(False)
    try:
        options = {"metrics": METRICS, "data_range": None}
        rows = [_run_pair({"a": pa, "b": pb}, options) for pa, pb in pairs]
    finally:
        fft.set_workers(old_fft)
        pairpool.set_enabled(old_split)
    return np.array([(r["pearson"], r["ssim"], r["dy"], r["dx"]) for r in rows])


def _serial_default(d):
    return _serial_loop(d["pairs"], None)


def _serial_one_thread(d):
    return _serial_loop(d["pairs"], 1)


# ------------------------------------------------------------------------------- larger than memory
BIG = 16384
CHUNK = 2048
WINDOW = 15
_last: dict = {}


def _rss_anon() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    return 0


class _PeakAnon:
    """Samples RssAnon every 20 ms in a thread; ``peak`` is the largest value seen."""

    def __enter__(self):
        self.peak = _rss_anon()
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, _rss_anon())

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, _rss_anon())


def _big_setup():
    """Two 16,384^2 float32 .npy files written band by band (never whole in memory)."""
    d = _workdir() / "big"
    d.mkdir(exist_ok=True)
    rng = np.random.default_rng(5)
    tile = photo_mosaic((2048, 2048), np.float32, seed=1)
    paths = []
    for name in ("a", "b"):
        mm = np.lib.format.open_memmap(d / f"{name}.npy", mode="w+", dtype=np.float32, shape=(BIG, BIG))
        for y in range(0, BIG, 2048):
            band = np.tile(tile, (1, BIG // 2048))
            if name == "b":
                band = 0.7 * band + rng.normal(0, 20, band.shape).astype(np.float32)
            mm[y : y + 2048] = band
        mm.flush()
        del mm
        paths.append(d / f"{name}.npy")
    small = photo_mosaic((4096, 4096), np.float32, seed=2)
    small_b = 0.7 * small + rng.normal(0, 20, small.shape).astype(np.float32)
    return {"a": paths[0], "b": paths[1], "out": d / "map.zarr", "small": (small, small_b)}


def _tiled(d):
    shutil.rmtree(d["out"], ignore_errors=True)
    t0 = time.perf_counter()
    with _PeakAnon() as mem:
        imcorr.local_correlation_tiled(d["a"], d["b"], window=WINDOW, chunks=CHUNK, out=d["out"])
    secs = time.perf_counter() - t0
    _last["tiled"] = (mem.peak, BIG * BIG / secs)
    print(f"    tiled {BIG}^2 -> Zarr: {secs:.1f} s, {BIG * BIG / secs / 1e6:.1f} Mpx/s, "
          f"peak RssAnon {mem.peak / 1e9:.2f} GB (goal < 1.5 GB: {'MET' if mem.peak < 1.5e9 else 'NOT MET'})",
          flush=True)
    return d["out"]


def _in_memory_4096(d):
    a, b = d["small"]
    t0 = time.perf_counter()
    res = imcorr.local_correlation(a, b, window=WINDOW)
    secs = time.perf_counter() - t0
    print(f"    in-memory 4096^2: {secs:.2f} s, {a.size / secs / 1e6:.1f} Mpx/s", flush=True)
    return None if res is None else "in-memory"


def _big_err(out, d) -> float:
    if out == "in-memory":
        return 0.0
    import zarr

    y0 = x0 = CHUNK - 1300  # a 2600^2 crop around the corner of four chunks
    crop = np.s_[y0 : y0 + 2600, x0 : x0 + 2600]
    a = np.load(d["a"], mmap_mode="r")[crop]
    b = np.load(d["b"], mmap_mode="r")[crop]
    ref = imcorr.local_correlation(a, b, window=WINDOW).map[WINDOW:-WINDOW, WINDOW:-WINDOW]
    got = zarr.open_array(str(out), mode="r")[crop][WINDOW:-WINDOW, WINDOW:-WINDOW]
    both = np.isnan(ref) == np.isnan(got)
    if not both.all():
        return float("inf")
    ok = ~np.isnan(ref)
    return float(np.max(np.abs(got[ok] - ref[ok])))


# ------------------------------------------------------------------ tiled template scores and DIC field
def _tiled_setup():
    from scipy import ndimage

    img = photo_mosaic((4096, 4096), np.float32, seed=4)
    tpl = img[1500:1531, 2200:2231].copy()
    ref = photo_mosaic((2048, 2048), np.float64, seed=5)
    yy, xx = np.mgrid[:2048, :2048]
    dfm = ndimage.map_coordinates(ref, [yy - 1.5 - 0.001 * xx, xx + 2.0 - 0.0005 * yy], order=3, mode="nearest")
    return {"img": img, "tpl": tpl, "ref": ref, "dfm": dfm}


def _match_memory(d):
    return imcorr.match_template(d["img"], d["tpl"]).scores


def _match_tiled(d):
    return imcorr.match_template_tiled(d["img"], d["tpl"], chunks=1024).compute()


def _match_err(out, d) -> float:
    ref = _match_memory(d)
    return float(np.nanmax(np.abs(np.asarray(out, np.float64) - ref)))


def _field_memory(d):
    return imcorr.displacement_field(d["ref"], d["dfm"], window=32, step=16, pyramid=False)


def _field_tiled(d):
    return imcorr.displacement_field_tiled(d["ref"], d["dfm"], window=32, step=16, chunks=512)


def _field_err(out, d) -> float:
    ref = _field_memory(d)
    if not np.array_equal(out.status, ref.status):
        return float("inf")
    ok = ~np.isnan(ref.dy)
    return float(max(np.max(np.abs(out.dy[ok] - ref.dy[ok])), np.max(np.abs(out.dx[ok] - ref.dx[ok]))))


CASES = [
    Case(
        name=f"pairs {N_PAIRS}x{SIZE}^2 pearson+ssim+shift: 2-worker LocalCluster vs serial loop",
        setup=_pairs_setup,
        impls=[
            Impl("serial loop of the per-pair function, imcorr threads default", _serial_default),
            Impl("serial loop of the per-pair function, imcorr threads 1", _serial_one_thread),
            Impl("imcorr compare_pairs on LocalCluster(2 procs x 1 thread)", _on_cluster, peer=False,
                 requires="distributed"),
            Impl("imcorr compare_pairs default local pool (processes x2)", _on_pool, peer=False),
        ],
        error=_pairs_err,
        goal=1 / 1.7,
        goal_text="<= 0.59x of the serial loop (>= 1.7x faster)",
        repeat=3,
        accuracy_label="max abs diff from serial",
    ),
    Case(
        name=f"pairs {N_PAIRS}x{SIZE}^2 pearson+ssim+shift: 2-worker LocalCluster vs local pool",
        setup=_pairs_setup,
        impls=[
            Impl("imcorr compare_pairs default local pool (processes x2)", _on_pool),
            Impl("imcorr compare_pairs on LocalCluster(2 procs x 1 thread)", _on_cluster, peer=False,
                 requires="distributed"),
        ],
        error=_pairs_err,
        goal=1.3,
        goal_text="<= 1.3x of the local pool",
        repeat=1,
        accuracy_label="max abs diff from serial",
        baseline="imcorr compare_pairs default local pool (processes x2)",
    ),
    Case(
        name="match_template 4096^2 float32, template 31^2: tiled (1024^2 chunks) vs in-memory",
        setup=_tiled_setup,
        impls=[
            Impl("in-memory match_template", _match_memory),
            Impl("imcorr match_template_tiled (dask threads)", _match_tiled, peer=False, requires="dask"),
        ],
        error=_match_err,
        goal=None,
        goal_text="report: the cost of tiling",
        repeat=3,
        accuracy_label="max abs diff from in-memory",
        memory=False,
    ),
    Case(
        name="displacement_field 2048^2 window 32 step 16: tiled (512^2 tiles) vs in-memory (pyramid=False)",
        setup=_tiled_setup,
        impls=[
            Impl("in-memory displacement_field(pyramid=False)", _field_memory),
            Impl("imcorr displacement_field_tiled (dask threads)", _field_tiled, peer=False, requires="dask"),
        ],
        error=_field_err,
        goal=None,
        goal_text="report: the cost of tiling",
        repeat=3,
        accuracy_label="max abs diff dy/dx from in-memory",
        memory=False,
    ),
    Case(
        name=f"localmap {BIG}^2 tiled to Zarr (chunks {CHUNK}^2, window {WINDOW}) vs in-memory 4096^2",
        setup=_big_setup,
        impls=[
            Impl("in-memory local_correlation 4096^2 (16x fewer pixels)", _in_memory_4096),
            Impl(f"imcorr local_correlation_tiled {BIG}^2 .npy memmaps -> Zarr", _tiled, peer=False,
                 requires="zarr"),
        ],
        error=_big_err,
        goal=None,
        goal_text="peak RssAnon < 1.5 GB (printed above); per-pixel rate = 16 / time ratio",
        repeat=1,
        accuracy_label="max abs diff from in-memory crop",
    ),
]

if os.environ.get("IMCORR_BENCH_BIG", "") == "":
    # the 16,384^2 case takes minutes and 4 GiB of disk: run it only when selected by name
    # (python -m benchmarks --only "localmap 16384") or with IMCORR_BENCH_BIG=1
    import sys

    if not any("16384" in a for a in sys.argv):
        CASES = CASES[:4]
