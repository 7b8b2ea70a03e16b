"""compare_pairs: local pools, a real 2-worker distributed.LocalCluster, crash + resume, error rows.

References are independent of the engine: the metrics called directly in a plain loop (imcorr.pearson,
imcorr.ssim, imcorr.estimate_shift on imcorr.io.load), np.corrcoef, skimage's structural_similarity and
the shift the test images were made with.
"""

from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

import imcorr
from imcorr.errors import InputError, MissingDependencyError, SchedulerError
from imcorr.parallel import compare_pairs, read_pairs

distributed = pytest.importorskip("distributed")

N_GOOD = 46
SHIFT = (1.5, -2.25)  # content of b = content of a moved by (dy, dx)


@pytest.fixture(scope="module")
def pairs_dir(tmp_path_factory):
    """46 good 64x64 pairs cut from 'camera' (b = a shifted by SHIFT + noise), plus a missing file, a shape
    mismatch and a corrupt PNG; ``pairs.csv`` lists them with paths relative to the CSV."""
    from skimage import data

    root = tmp_path_factory.mktemp("pairs")
    (root / "img").mkdir()
    cam = data.camera().astype(np.float64)
    rng = np.random.default_rng(7)
    rows = []
    for i in range(N_GOOD):
        y, x = (int(v) for v in rng.integers(64, 380, 2))
        big = cam[y - 16 : y + 80, x - 16 : x + 80]
        a = big[16:80, 16:80]
        b = ndimage.shift(big, SHIFT, order=3)[16:80, 16:80] + rng.normal(0, 2, a.shape)
        Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).save(root / "img" / f"a{i}.png")
        Image.fromarray(np.clip(b, 0, 255).astype(np.uint8)).save(root / "img" / f"b{i}.png")
        rows.append((f"img/a{i}.png", f"img/b{i}.png"))
    Image.fromarray(np.zeros((32, 48), np.uint8)).save(root / "img" / "small.png")
    (root / "img" / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png" * 10)
    rows += [("img/a0.png", "img/missing.png"), ("img/a1.png", "img/small.png"), ("img/corrupt.png", "img/b2.png")]
    with open(root / "pairs.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["a", "b", "note"])
        w.writerows([(a, b, "x") for a, b in rows])
    return root


@pytest.fixture(scope="module")
def serial(pairs_dir):
    """The plain loop: the metrics called directly on the loaded images (no engine)."""
    out = []
    for a, b in read_pairs(pairs_dir / "pairs.csv")[:N_GOOD]:
        ia, ib = imcorr.load(pairs_dir / a, gray=True), imcorr.load(pairs_dir / b, gray=True)
        sh = imcorr.estimate_shift(ia, ib)
        out.append({"pearson": imcorr.pearson(ia, ib).r, "ssim": imcorr.ssim(ia, ib).ssim,
                    "dy": sh.shift[0], "dx": sh.shift[1]})
    return out


@pytest.fixture(scope="module")
def cluster():
    """A real 2-worker LocalCluster over TCP. processes=False: workers start in well under a second (spawning
    processes costs seconds on a loaded 2-core machine) while tasks still go through the TCP scheduler,
    pickled both ways; the crash test below covers a separate process."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None,
                                  protocol="tcp://") as lc:
        yield lc


def _check_against_serial(rows, serial):
    assert [r["index"] for r in rows] == list(range(N_GOOD + 3))
    for r, s in zip(rows[:N_GOOD], serial):
        assert r["status"] == "ok", r["error"]
        assert r["pearson"] == pytest.approx(s["pearson"], abs=1e-12)
        assert r["ssim"] == pytest.approx(s["ssim"], abs=1e-12)
        assert (r["dy"], r["dx"]) == pytest.approx((s["dy"], s["dx"]), abs=1e-9)
    errors = {r["index"]: r["error"] for r in rows[N_GOOD:]}
    assert all(r["status"] == "error" for r in rows[N_GOOD:])
    assert "missing.png" in errors[N_GOOD] and "ImageReadError" in errors[N_GOOD]
    assert "ShapeMismatchError" in errors[N_GOOD + 1] and "(32, 48)" in errors[N_GOOD + 1]
    assert "corrupt.png" in errors[N_GOOD + 2]


def test_serial_loop_is_right(pairs_dir, serial):
    """The reference loop itself against peers and the ground truth."""
    from skimage.metrics import structural_similarity

    a, b = imcorr.load(pairs_dir / "img/a3.png"), imcorr.load(pairs_dir / "img/b3.png")
    assert serial[3]["pearson"] == pytest.approx(np.corrcoef(a.ravel(), b.ravel())[0, 1], abs=1e-12)
    assert serial[3]["ssim"] == pytest.approx(structural_similarity(a, b, data_range=255), abs=1e-9)
    shifts = np.array([(s["dy"], s["dx"]) for s in serial])
    assert np.median(np.abs(shifts - SHIFT)) < 0.1


def test_cluster_by_address_equals_serial_loop(cluster, pairs_dir, serial, tmp_path):
    out = tmp_path / "res.csv"
    res = compare_pairs(pairs_dir / "pairs.csv", scheduler=cluster.scheduler_address, out=out)
    assert res.scheduler == f"dask {cluster.scheduler_address}"
    assert (res.n_tasks, res.n_ok, res.n_error, res.n_skipped) == (N_GOOD + 3, N_GOOD, 3, 0)
    assert res.out == str(out) and out.is_file()
    _check_against_serial(res.to_rows(), serial)
    frame = res.to_frame()
    assert len(frame) == N_GOOD + 3 and list(frame.columns) == list(res.columns)
    assert res.to_dict()["n_ok"] == N_GOOD


def test_cluster_client_object_and_local_pools_agree(cluster, pairs_dir, serial):
    with distributed.Client(cluster) as client:
        _check_against_serial(compare_pairs(pairs_dir / "pairs.csv", scheduler=client).to_rows(), serial)
    res = compare_pairs(pairs_dir / "pairs.csv")  # default: local processes (the shift metric holds the GIL)
    assert res.scheduler.startswith("local processes")
    _check_against_serial(res.to_rows(), serial)
    _check_against_serial(compare_pairs(pairs_dir / "pairs.csv", scheduler="synchronous").to_rows(), serial)


def test_iterable_pairs_and_metric_subset(pairs_dir, serial):
    pairs = [(pairs_dir / f"img/a{i}.png", pairs_dir / f"img/b{i}.png") for i in range(4)]
    res = compare_pairs(pairs, metrics="pearson", workers=2)
    rows = res.to_rows()
    assert res.columns == ("index", "a", "b", "status", "error", "pearson", "pearson_reason", "seconds")
    assert [r["pearson"] for r in rows] == pytest.approx([s["pearson"] for s in serial[:4]], abs=1e-12)


@pytest.mark.slow
def test_process_pool(pairs_dir, serial):
    res = compare_pairs(pairs_dir / "pairs.csv", scheduler="processes", workers=2)
    assert res.scheduler == "local processes x2"
    _check_against_serial(res.to_rows(), serial)


def test_unreachable_scheduler_is_named_within_10s():
    t0 = time.monotonic()
    with pytest.raises(SchedulerError, match=r"tcp://127\.0\.0\.1:1\b"):
        compare_pairs([("a.png", "b.png")], scheduler="tcp://127.0.0.1:1")
    assert time.monotonic() - t0 < 10


def test_silent_scheduler_times_out_within_10s():
    """Something listens but never speaks Dask: the handshake times out, named, in under 10 s."""
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        addr = f"tcp://127.0.0.1:{srv.getsockname()[1]}"
        t0 = time.monotonic()
        with pytest.raises(SchedulerError, match=addr.replace(".", r"\.")):
            compare_pairs([("a.png", "b.png")], scheduler=addr)
        assert time.monotonic() - t0 < 10


def test_csv_missing_columns_are_named(tmp_path):
    p = tmp_path / "p.csv"
    p.write_text("left,b\nx.png,y.png\n")
    with pytest.raises(InputError, match=r"lacks column\(s\) a .*it has: left, b"):
        compare_pairs(p)
    p.write_text("first,second\nx.png,y.png\n")
    with pytest.raises(InputError, match=r"a, b"):
        compare_pairs(p)


def test_bad_options_are_refused(pairs_dir, tmp_path):
    with pytest.raises(InputError, match="metrics"):
        compare_pairs([("a", "b")], metrics=("pearson", "nope"))
    with pytest.raises(InputError, match="scheduler"):
        compare_pairs([("a", "b")], scheduler="fast")
    with pytest.raises(InputError, match="out"):
        compare_pairs([("a", "b")], out=tmp_path / "x.txt")
    with pytest.raises(InputError, match="resume"):
        compare_pairs([("a", "b")], resume=True)
    with pytest.raises(InputError, match="workers"):
        compare_pairs([("a", "b")], workers=0)


def test_parquet_needs_pyarrow(tmp_path, pairs_dir, serial):
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        with pytest.raises(MissingDependencyError, match="pyarrow"):
            compare_pairs([("a", "b")], out=tmp_path / "r.parquet")
        return
    res = compare_pairs(pairs_dir / "pairs.csv", out=tmp_path / "r.parquet")
    _check_against_serial(res.to_rows(), serial)


def test_resume_runs_only_missing_rows_and_repairs_a_torn_line(pairs_dir, serial, tmp_path):
    out = tmp_path / "r.csv"
    full = compare_pairs(pairs_dir / "pairs.csv", out=out, scheduler="synchronous")
    lines = out.read_text().splitlines(keepends=True)
    # keep the header, rows 0..9 and half of row 10 (a writer killed inside write())
    out.write_text("".join(lines[:11]) + lines[11][: len(lines[11]) // 2])
    res = compare_pairs(pairs_dir / "pairs.csv", out=out, resume=True)
    assert (res.n_skipped, res.n_run, res.n_ok, res.n_error) == (10, full.n_tasks - 10, N_GOOD, 3)
    _check_against_serial(res.to_rows(), serial)
    again = compare_pairs(pairs_dir / "pairs.csv", out=out, resume=True)
    assert (again.n_run, again.n_skipped) == (0, full.n_tasks)
    with pytest.raises(InputError, match="columns"):
        compare_pairs(pairs_dir / "pairs.csv", out=out, resume=True, metrics=("pearson",))


_KILL_SCRIPT = textwrap.dedent("""
    import sys, time
    from imcorr.parallel import compare_pairs, register_pair_metric

    @register_pair_metric("slow", ())
    def _slow(a, b, options):
        time.sleep(0.04)  # keeps the run long enough to be killed mid-way
        return {}

    compare_pairs(sys.argv[1], metrics=("pearson", "slow"), out=sys.argv[2], workers=2,
                  resume=sys.argv[3] == "resume", progress=False)
""")


def _data_lines(path: Path) -> int:
    try:
        return max(0, path.read_text().count("\n") - 1)
    except FileNotFoundError:
        return 0


def test_killed_run_resumes_with_every_pair_exactly_once(pairs_dir, serial, tmp_path):
    script = tmp_path / "run.py"
    script.write_text(_KILL_SCRIPT)
    out = tmp_path / "killed.csv"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, str(script), str(pairs_dir / "pairs.csv"), str(out), "new"], env=env)
    try:
        deadline = time.monotonic() + 60
        while _data_lines(out) < 8 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert proc.poll() is None, "the run finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    before = _data_lines(out)
    assert 8 <= before < N_GOOD + 3
    done = subprocess.run([sys.executable, str(script), str(pairs_dir / "pairs.csv"), str(out), "resume"],
                          env=env, timeout=120)
    assert done.returncode == 0
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    counts = Counter(int(r["index"]) for r in rows)
    assert sorted(counts) == list(range(N_GOOD + 3)) and set(counts.values()) == {1}
    rows.sort(key=lambda r: int(r["index"]))
    for r, s in zip(rows[:N_GOOD], serial):
        assert r["status"] == "ok" and float(r["pearson"]) == pytest.approx(s["pearson"], abs=1e-12)
    assert [r["status"] for r in rows[N_GOOD:]] == ["error"] * 3
