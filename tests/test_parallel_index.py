"""index_add: a folder hashed on a Dask cluster (the engine's ``hash`` job) into the SQLite index written by
this process only: the same index as Index.add's local pool, hashes equal to imagehash's, failures
recorded, and a run stopped mid-way keeps every delivered batch."""

from __future__ import annotations

import sqlite3

import imagehash
import numpy as np
import pytest
from PIL import Image
from skimage import data

import imcorr
from imcorr.parallel import index_add

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None,
                                  protocol="tcp://") as lc:
        yield lc


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("images")
    for name in ("camera", "coins", "moon", "astronaut", "coffee", "rocket"):
        img = getattr(data, name)()
        Image.fromarray(img).save(d / f"{name}.png")
        Image.fromarray(img).save(d / f"{name}.jpg", quality=90)
    Image.fromarray(data.camera()[:, ::-1]).save(d / "camera_flipped.png")
    (d / "empty.png").write_bytes(b"")
    (d / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return d


def _content(path):
    with sqlite3.connect(path) as conn:
        files = sorted(conn.execute("SELECT path, size, digest, width, height FROM files").fetchall())
        hashes = sorted(conn.execute(
            "SELECT f.path, h.method, h.variant, h.h0 FROM hashes h JOIN files f ON f.id = h.file_id").fetchall())
        fails = sorted(conn.execute("SELECT path, kind FROM failures").fetchall())
    return files, hashes, fails


@pytest.mark.parametrize("invariant", [False, True])
def test_cluster_index_equals_local_index(folder, cluster, tmp_path, invariant):
    with imcorr.Index(tmp_path / "local.sqlite") as local:
        ref = local.add(folder, invariant=invariant)
    with imcorr.Index(tmp_path / "cluster.sqlite") as idx:
        rep = index_add(idx, folder, invariant=invariant, scheduler=cluster.scheduler_address)
    assert (rep.found, rep.added, rep.failed) == (ref.found, ref.added, ref.failed) == (15, 13, 2)
    assert _content(tmp_path / "cluster.sqlite") == _content(tmp_path / "local.sqlite")
    with imcorr.Index(tmp_path / "cluster.sqlite") as idx:  # a second run: nothing to do
        again = index_add(idx, folder, invariant=invariant, scheduler=cluster.scheduler_address)
        assert (again.added, again.unchanged) == (0, 15)
        assert len(idx.failures()) == 2


def test_hashes_equal_imagehash(folder, cluster, tmp_path):
    with imcorr.Index(tmp_path / "exact.sqlite", exact=True) as idx:
        index_add(idx, folder, hashes=("phash", "dhash"), scheduler=cluster.scheduler_address)
    with sqlite3.connect(tmp_path / "exact.sqlite") as conn:
        stored = {(p, m): h0 for p, m, h0 in conn.execute(
            "SELECT f.path, h.method, h.h0 FROM hashes h JOIN files f ON f.id = h.file_id WHERE h.variant = 0")}
    for p in sorted(folder.glob("*.png"))[:4]:
        if p.stat().st_size == 0:
            continue
        with Image.open(p) as im:  # independent reference: imagehash's hex, as the signed 64-bit word
            for method, fn in (("phash", imagehash.phash), ("dhash", imagehash.dhash)):
                expected = np.array([int(str(fn(im)), 16)], dtype=np.uint64).view(np.int64)[0]
                assert stored[(str(p), method)] == expected, (p, method)


def test_query_finds_the_flipped_copy(folder, cluster, tmp_path):
    with imcorr.Index(tmp_path / "inv.sqlite") as idx:
        index_add(idx, folder, invariant=True, scheduler=cluster.scheduler_address)
        hit = idx.query(folder / "camera.png", k=3, max_distance=4)
        assert {m.path.split("/")[-1] for m in hit.matches} >= {"camera.png", "camera_flipped.png"}


def test_stopped_run_keeps_delivered_batches(folder, tmp_path):
    """The index stores each delivered batch at once: a hasher stopped after its first batch (a killed
    client) leaves those files indexed, and the next add hashes only the rest."""
    from imcorr.collection._files import hash_file

    class Stop(Exception):
        pass

    def stopping_hasher(paths, spec, deliver):
        deliver([hash_file(p, spec) for p in paths[:5]])
        raise Stop

    with imcorr.Index(tmp_path / "stopped.sqlite") as idx:
        with pytest.raises(Stop):
            idx.add(folder, hasher=stopping_hasher)
        assert len(idx) == 5
        rest = index_add(idx, folder, scheduler="threads", workers=2)
        assert rest.unchanged == 5 and rest.added == 8 and len(idx) == 13
    with imcorr.Index(tmp_path / "whole.sqlite") as whole:
        whole.add(folder)
    assert _content(tmp_path / "stopped.sqlite")[:2] == _content(tmp_path / "whole.sqlite")[:2]
