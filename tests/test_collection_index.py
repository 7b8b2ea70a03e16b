"""Near-duplicate index: MIH == brute force, storage, incremental add/sync, failures, crash safety, bad input."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

import imcorr
import imcorr.collection._store as store
import imcorr.collection.index as index_mod
from imcorr.collection import Index, IndexDatabaseError, IndexVersionError, MultiIndexHash, brute_force_search

imagehash = pytest.importorskip("imagehash")
skdata = pytest.importorskip("skimage.data")


# ------------------------------------------------------------------ MIH vs brute force
def _linear_reference(codes: np.ndarray, items: np.ndarray, q: np.ndarray, k: int, r: int):
    """Independent reference: Python ints and bin().count, min per item, sort by (distance, item)."""
    best: dict[int, int] = {}
    for row, item in zip(codes.tolist(), items.tolist()):
        d = sum(bin(int(a) ^ int(b)).count("1") for a, b in zip(row, q.tolist()))
        best[item] = min(best.get(item, 99999), d)
    hits = sorted((d, i) for i, d in best.items() if d <= r)[:k]
    return [i for _, i in hits], [d for d, _ in hits]


@st.composite
def _code_sets(draw):
    words = draw(st.sampled_from([1, 1, 2]))
    n_base = draw(st.integers(1, 40))
    base = draw(st.lists(st.integers(0, 2**64 - 1), min_size=n_base * words, max_size=n_base * words))
    codes = np.array(base, dtype=np.uint64).reshape(n_base, words)
    # near copies of a few codes: clusters with many ties at small radii
    n_near = draw(st.integers(0, 60))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    src = rng.integers(0, n_base, n_near)
    flips = rng.integers(0, 6, n_near)
    near = codes[src].copy()
    for i in range(n_near):
        for _ in range(flips[i]):
            w, b = rng.integers(0, words), rng.integers(0, 64)
            near[i, w] ^= np.uint64(1) << np.uint64(b)
    codes = np.concatenate([codes, near])
    multi = draw(st.booleans())
    items = np.sort(rng.integers(0, max(1, len(codes) // 3), len(codes))) if multi else np.arange(len(codes))
    q = codes[rng.integers(0, len(codes))].copy()
    for _ in range(draw(st.integers(0, 8))):
        q[rng.integers(0, words)] ^= np.uint64(1) << np.uint64(rng.integers(0, 64))
    m = draw(st.integers(1, 8 * words))
    return codes, items, q, m


@settings(max_examples=80, deadline=None)
@given(_code_sets(), st.integers(1, 12), st.integers(0, 70))
def test_mih_equals_brute_force_exactly(data, k, r):
    codes, items, q, m = data
    mih = MultiIndexHash(codes, items=items, m=m, fallback=False)  # always probe, never the linear fallback
    ids, d = mih.search(q, k=k, max_distance=r)
    ref_ids, ref_d = _linear_reference(codes, items, q, k, min(r, 64 * codes.shape[1]))
    assert ids.tolist() == ref_ids and d.tolist() == ref_d
    b_ids, b_d = brute_force_search(codes, q, k=k, max_distance=r, items=items)
    assert b_ids.tolist() == ref_ids and b_d.tolist() == ref_d


def test_mih_ties_at_the_radius_are_all_returned():
    # 20 codes at distance exactly 3 from the query, 5 at 2: a range search returns all 25
    rng = np.random.default_rng(1)
    q = np.uint64(rng.integers(0, 2**63))
    codes = []
    for d, count in ((2, 5), (3, 20), (7, 50)):
        for _ in range(count):
            bits = rng.choice(64, d, replace=False)
            codes.append(q ^ np.uint64(sum(1 << int(b) for b in bits)))
    codes = np.array(codes, dtype=np.uint64)
    mih = MultiIndexHash(codes, m=4, fallback=False)
    ids, d = mih.search(q, k=1000, max_distance=3)
    assert sorted(ids.tolist()) == list(range(25)) and d.tolist() == [2] * 5 + [3] * 20
    ids, d = mih.search(q, k=7, max_distance=64)  # the cut inside the tie: smallest ids first
    assert ids.tolist() == [0, 1, 2, 3, 4, 5, 6]


def test_mih_large_random_matches_numpy_scan():
    rng = np.random.default_rng(2)
    codes = rng.integers(0, 2**64, size=200_000, dtype=np.uint64)
    mih = MultiIndexHash(codes)
    for _ in range(5):
        q = rng.integers(0, 2**64, dtype=np.uint64)
        dist = np.unpackbits((codes ^ q).view(np.uint8).reshape(-1, 8), axis=1).sum(1)
        order = np.lexsort((np.arange(codes.size), dist))[:10]
        ids, d = mih.search(q, k=10, max_distance=64)
        assert ids.tolist() == order.tolist() and d.tolist() == dist[order].tolist()


# ----------------------------------------------------------------------- file fixtures
def _photos():
    return {
        "camera": skdata.camera(),
        "coins": skdata.coins(),
        "moon": skdata.moon(),
        "astronaut": skdata.astronaut(),
        "coffee": skdata.coffee(),
        "chelsea": skdata.chelsea(),
    }


@pytest.fixture
def photo_dir(tmp_path):
    d = tmp_path / "photos"
    (d / "sub").mkdir(parents=True)
    for i, (name, img) in enumerate(_photos().items()):
        target = d / "sub" if i % 2 else d
        Image.fromarray(img).save(target / f"{name}.jpg", quality=90)
        Image.fromarray(img).save(target / f"{name}.png")
    return d


def test_hashes_stored_equal_imagehash_exact(photo_dir, tmp_path):
    idx = Index(tmp_path / "i.sqlite", exact=True)
    rep = idx.add(photo_dir)
    assert rep.added == 12 and rep.failed == 0 and len(idx) == 12
    conn = sqlite3.connect(tmp_path / "i.sqlite")
    rows = conn.execute("SELECT f.path, h.method, h.h0 FROM hashes h JOIN files f ON f.id = h.file_id").fetchall()
    assert len(rows) == 24
    for path, method, h0 in rows:
        ref = {"phash": imagehash.phash, "dhash": imagehash.dhash}[method](Image.open(path))
        assert (h0 & (2**64 - 1)) == int(str(ref), 16), (path, method)  # signed storage, same bits
    # a query by file finds itself and its other encoding at distance 0 (imagehash agrees on the pair)
    res = idx.query(photo_dir / "camera.jpg", k=2, max_distance=64)
    assert res.matches[0].path.endswith("camera.jpg") and res.matches[0].distance == 0
    ref_d = imagehash.phash(Image.open(photo_dir / "camera.jpg")) - imagehash.phash(
        Image.open(photo_dir / "camera.png"))
    assert res.matches[1].path.endswith("camera.png") and res.matches[1].distance == ref_d
    assert res.hash == str(imagehash.phash(Image.open(photo_dir / "camera.jpg")))
    rows = res.to_rows()
    assert [r["rank"] for r in rows] == [1, 2] and rows[0]["query"].endswith("camera.jpg")


def test_query_mih_equals_brute_on_index(photo_dir, tmp_path):
    idx = Index(tmp_path / "i.sqlite")
    idx.add(photo_dir, invariant=True)
    for name in ("camera.png", "coffee.jpg", "coins.jpg"):
        path = next(photo_dir.rglob(name))
        for r in (0, 6, 20, 64):
            a = idx.query(path, k=5, max_distance=r)
            b = idx.query(path, k=5, max_distance=r, search="brute")
            assert a.matches == b.matches and a.search == "mih" and b.search == "brute"
    # an array and an ImageHash query give the same hash as imcorr.phash
    cam = skdata.camera()
    assert idx.query(cam, k=1).hash == str(imcorr.phash(cam))
    assert idx.query(imcorr.phash(cam), k=1).hash == str(imcorr.phash(cam))


def test_invariant_finds_flips_and_rotations(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    for name, img in _photos().items():
        Image.fromarray(img).save(d / f"{name}.png")
    plain, inv = Index(tmp_path / "p.sqlite"), Index(tmp_path / "v.sqlite")
    plain.add(d, hashes=("phash",))
    inv.add(d, hashes=("phash",), invariant=True)
    for name, img in _photos().items():
        for variant in (img[:, ::-1], img[::-1], np.rot90(img), np.rot90(img, 3)):
            v = np.ascontiguousarray(variant)
            hit = inv.query(v, k=1, max_distance=8)
            assert hit.matches and hit.matches[0].path.endswith(f"{name}.png"), name
            # reference: imcorr.phash(invariant=True) distance (itself tested against imagehash)
            assert hit.matches[0].distance == imcorr.phash(img, invariant=True) - imcorr.phash(v)
        flipped = plain.query(np.ascontiguousarray(img[:, ::-1]), k=1, max_distance=8)
        assert not flipped.matches or not flipped.matches[0].path.endswith(f"{name}.png")


def test_incremental_add_and_sync(photo_dir, tmp_path):
    db = tmp_path / "i.sqlite"
    idx = Index(db)
    assert idx.add(photo_dir).added == 12
    again = idx.add(photo_dir)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 12)
    # touch without changing content: digest equal, not re-hashed
    p = photo_dir / "camera.png"
    os.utime(p, ns=(time.time_ns(), time.time_ns() + 10**9))
    r = idx.add(photo_dir)
    assert (r.added, r.updated, r.unchanged) == (0, 0, 12)
    # change content: re-hashed, the query now finds the new content
    Image.fromarray(skdata.moon()).save(p)
    os.utime(p, ns=(time.time_ns(), time.time_ns() + 2 * 10**9))
    r = idx.add(photo_dir)
    assert (r.added, r.updated) == (0, 1)
    hit = idx.query(skdata.moon(), k=3, max_distance=4)
    assert any(m.path.endswith("camera.png") for m in hit.matches)
    # a new hash for existing files: every file is hashed again, nothing new
    r = idx.add(photo_dir, hashes=("ahash",))
    assert r.updated == 12
    counts = dict(sqlite3.connect(db).execute("SELECT method, COUNT(*) FROM hashes GROUP BY method").fetchall())
    assert counts == {"ahash": 12, "dhash": 12, "phash": 12}  # the other hashes are kept (and current)
    assert idx.query(skdata.moon(), k=1, max_distance=4, hash="ahash").matches
    # delete two files: sync prunes them, queries no longer return them
    (photo_dir / "camera.jpg").unlink()
    (photo_dir / "sub" / "coins.png").unlink()
    s = idx.sync()
    assert s.removed == 2 and s.total == 10 and len(idx) == 10
    assert all("camera.jpg" not in m.path for m in idx.query(skdata.camera(), k=20, max_distance=64).matches)
    n_hash = sqlite3.connect(db).execute("SELECT COUNT(DISTINCT file_id) FROM hashes").fetchone()[0]
    assert n_hash == 10
    idx.close()
    # reopening keeps everything
    assert len(Index(db)) == 10


def test_failures_recorded_and_never_abort(tmp_path):
    d = tmp_path / "d"
    (d / "deep").mkdir(parents=True)
    Image.fromarray(skdata.camera()).save(d / "good.jpg")
    data = (d / "good.jpg").read_bytes()
    (d / "trunc.jpg").write_bytes(data[: len(data) // 3])
    (d / "text.png").write_bytes(b"hello, not a PNG")
    (d / "empty.jpg").write_bytes(b"")
    (d / "garbage.jpg").write_bytes(data[:200] + bytes(np.random.default_rng(0).integers(0, 256, 5000, np.uint8)))
    (d / "notes.txt").write_text("ignored: not an image extension")
    os.symlink(d, d / "deep" / "loop")  # a loop back to the root
    os.symlink(d / "missing.jpg", d / "dangling.jpg")
    idx = Index(tmp_path / "i.sqlite")
    rep = idx.add(d)
    assert rep.added == 1 and len(idx) == 1
    kinds = {os.path.basename(f["path"]): f["kind"] for f in rep.failures}
    assert kinds["trunc.jpg"] == "truncated"
    assert kinds["text.png"] == "not-image"
    assert kinds["empty.jpg"] == "empty"
    assert kinds["garbage.jpg"] in ("corrupt", "truncated", "not-image")
    assert kinds["loop"] == "symlink-loop" and list(kinds.values()).count("symlink-loop") == 1
    assert kinds["dangling.jpg"] == "broken-link"
    assert "notes.txt" not in kinds
    stored = {os.path.basename(f["path"]) for f in idx.failures()}
    assert {"trunc.jpg", "text.png", "empty.jpg", "garbage.jpg"} <= stored
    # fixing a file removes its failure
    Image.fromarray(skdata.coins()).save(d / "trunc.jpg")
    idx.add(d)
    assert "trunc.jpg" not in {os.path.basename(f["path"]) for f in idx.failures()} and len(idx) == 2


def test_duplicates_groups_and_keep(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    cam = skdata.camera()
    Image.fromarray(cam).save(d / "cam_big.png")
    Image.fromarray(cam[::2, ::2]).save(d / "cam_small.png")
    Image.fromarray(cam).save(d / "cam_q40.jpg", quality=40)
    os.utime(d / "cam_q40.jpg", ns=(0, 10**9))  # older, same resolution as cam_big
    Image.fromarray(skdata.coins()).save(d / "coins.png")
    Image.fromarray(skdata.moon()).save(d / "moon.png")
    idx = Index(tmp_path / "i.sqlite")
    idx.add(d)
    groups = idx.duplicates(max_distance=6)
    assert len(groups) == 1
    g = groups.groups[0]
    assert sorted(os.path.basename(f) for f in g.files) == ["cam_big.png", "cam_q40.jpg", "cam_small.png"]
    assert os.path.basename(g.keep) == "cam_q40.jpg"  # largest resolution, then oldest
    assert sorted(os.path.basename(f) for f in groups.to_remove()) == ["cam_big.png", "cam_small.png"]
    # distances against imcorr.phash of the same pixels (draft decode of the JPEG aside, the PNGs are exact)
    ref = imcorr.phash(str(d / "cam_big.png")) - imcorr.phash(str(d / "cam_small.png"))
    big = g.files.index(str(d / "cam_big.png"))
    small = g.files.index(str(d / "cam_small.png"))
    assert abs(g.distances[big] - g.distances[small]) <= ref <= g.distances[big] + g.distances[small]
    assert len(groups.to_rows()) == 3
    # the per-file multi-index range queries give the same groups as the blocked scan
    index_mod._BLOCKED_PAIRS, saved = 0, index_mod._BLOCKED_PAIRS
    try:
        assert idx.duplicates(max_distance=6) == groups
    finally:
        index_mod._BLOCKED_PAIRS = saved


# ---------------------------------------------------------------------------- bad input
def test_bad_database_files(tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(IndexVersionError, match="migrate"):
        Index(junk)
    other = tmp_path / "other.sqlite"
    c = sqlite3.connect(other)
    c.execute("CREATE TABLE t (x)")
    c.commit()
    c.close()
    with pytest.raises(IndexVersionError, match="not an imcorr index"):
        Index(other)
    old = tmp_path / "old.sqlite"
    Index(old).close()
    c = sqlite3.connect(old)
    c.execute("UPDATE schema_version SET version = 99")
    c.commit()
    c.close()
    with pytest.raises(IndexVersionError, match="version 99.*migrate"):
        Index(old)
    with pytest.raises(IndexDatabaseError, match="directory"):
        Index(tmp_path)
    with pytest.raises(IndexDatabaseError, match="does not exist"):
        Index(tmp_path / "nope" / "x.sqlite")
    with pytest.raises(imcorr.InputError, match="hash_size"):
        Index(old.with_name("hs.sqlite"), hash_size=8).close() or Index(old.with_name("hs.sqlite"), hash_size=16)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_directory(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    Index(ro / "x.sqlite").close()
    os.chmod(ro, 0o555)
    try:
        with pytest.raises(IndexDatabaseError, match="read-only"):
            Index(ro / "new.sqlite")
        with pytest.raises(IndexDatabaseError, match="read-only"):
            Index(ro / "x.sqlite")
    finally:
        os.chmod(ro, 0o755)


def test_bad_arguments(photo_dir, tmp_path):
    idx = Index(tmp_path / "i.sqlite")
    with pytest.raises(imcorr.InputError, match="hashes"):
        idx.add(photo_dir, hashes=("whash",))
    idx.add(photo_dir)
    with pytest.raises(imcorr.InputError, match="k"):
        idx.query(skdata.camera(), k=0)
    with pytest.raises(imcorr.InputError, match="max_distance"):
        idx.query(skdata.camera(), max_distance=-1)
    with pytest.raises(imcorr.InputError, match="hash"):
        idx.query(skdata.camera(), hash="sha1")
    with pytest.raises(imcorr.InputError, match="no ahash hashes"):
        idx.query(skdata.camera(), hash="ahash")
    with pytest.raises(imcorr.ImageReadError, match="no such file"):
        idx.query(tmp_path / "missing.jpg")
    (tmp_path / "bad.jpg").write_bytes(b"nope")
    with pytest.raises(imcorr.ImageReadError, match="cannot decode"):
        idx.query(tmp_path / "bad.jpg")
    # empty folder: nothing found, no error
    (tmp_path / "empty").mkdir()
    rep = idx.add(tmp_path / "empty")
    assert rep.found == 0 and rep.failed == 0
    # empty index: a query returns no match
    assert len(Index(tmp_path / "e.sqlite").query(skdata.camera())) == 0


# ------------------------------------------------------------------------ crash safety
_WRITER = textwrap.dedent(
    """
    import sys, time
    import imcorr.collection._files as F
    from imcorr.collection import Index
    import imcorr.collection.index as I
    I._CHUNK = 8
    slow = F.decode_file
    def decode(*a, **k):
        time.sleep(0.02)
        return slow(*a, **k)
    F.decode_file = decode
    Index(sys.argv[1]).add(sys.argv[2], workers=1)
    """
)


@pytest.mark.slow
def test_kill_mid_index_then_resume(tmp_path):
    d = tmp_path / "many"
    d.mkdir()
    rng = np.random.default_rng(3)
    base = skdata.camera()
    n = 120
    for i in range(n):
        y, x = rng.integers(0, 256, 2)
        Image.fromarray(base[y : y + 200, x : x + 200]).save(d / f"crop_{i:03d}.png")
    db = tmp_path / "kill.sqlite"
    script = tmp_path / "writer.py"
    script.write_text(_WRITER)
    proc = subprocess.Popen([sys.executable, str(script), str(db), str(d)])
    deadline = time.time() + 60
    count = 0
    while time.time() < deadline:
        time.sleep(0.2)
        try:
            c = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
            count = c.execute("SELECT COUNT(*) FROM files").fetchone()[0]
            c.close()
        except sqlite3.Error:
            count = 0
        if count >= 16:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 0 < count < n, "the writer was not killed mid-way"
    c = sqlite3.connect(db)
    assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    n_files = c.execute("SELECT COUNT(*) FROM files").fetchone()[0]
    n_hashes = c.execute("SELECT COUNT(*) FROM hashes").fetchone()[0]
    c.close()
    assert n_hashes == 2 * n_files and n_files % 8 == 0  # whole transactions only
    idx = Index(db)
    rep = idx.add(d)
    assert rep.unchanged == n_files and rep.added == n - n_files and len(idx) == n
    c = sqlite3.connect(db)
    assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert c.execute("SELECT COUNT(*) FROM hashes").fetchone()[0] == 2 * n


def test_two_writers_do_not_corrupt(tmp_path):
    d1, d2 = tmp_path / "a", tmp_path / "b"
    d1.mkdir()
    d2.mkdir()
    for i, img in enumerate(_photos().values()):
        Image.fromarray(img).save((d1 if i % 2 else d2) / f"{i}.png")
    db = tmp_path / "two.sqlite"
    Index(db).close()
    code = "import sys; from imcorr.collection import Index; Index(sys.argv[1]).add(sys.argv[2])"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(db), str(x)]) for x in (d1, d2)]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    c = sqlite3.connect(db)
    assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert c.execute("SELECT COUNT(*) FROM files").fetchone()[0] == 6


def test_read_only_directory_message_simulated(tmp_path, monkeypatch):
    """Same check as above where root ignores permissions: os.access reports the directory read-only."""
    Index(tmp_path / "x.sqlite").close()
    real = os.access
    monkeypatch.setattr(store.os, "access", lambda p, mode: False if mode & os.W_OK else real(p, mode))
    with pytest.raises(IndexDatabaseError, match="read-only.*writable directory"):
        Index(tmp_path / "new.sqlite")
    with pytest.raises(IndexDatabaseError, match="readonly=True"):
        Index(tmp_path / "x.sqlite")
    monkeypatch.undo()
    ro = Index(tmp_path / "x.sqlite", readonly=True)  # queries only
    assert len(ro) == 0
    with pytest.raises(IndexDatabaseError, match="readonly"):
        ro.add(tmp_path)


def test_cache_follows_writes_of_another_process(tmp_path):
    d1, d2 = tmp_path / "a", tmp_path / "b"
    d1.mkdir()
    d2.mkdir()
    Image.fromarray(skdata.camera()).save(d1 / "camera.png")
    Image.fromarray(skdata.moon()).save(d2 / "moon.png")
    db = tmp_path / "c.sqlite"
    reader = Index(db)
    reader.add(d1)
    assert [os.path.basename(m.path) for m in reader.query(skdata.moon(), k=5, max_distance=64).matches] == [
        "camera.png"]
    code = "import sys; from imcorr.collection import Index; Index(sys.argv[1]).add(sys.argv[2])"
    assert subprocess.run([sys.executable, "-c", code, str(db), str(d2)], timeout=120).returncode == 0
    hits = reader.query(skdata.moon(), k=5, max_distance=64)
    assert [os.path.basename(m.path) for m in hits.matches] == ["moon.png", "camera.png"]
    assert hits.matches[0].distance == imcorr.phash(skdata.moon()) - imcorr.phash(str(d2 / "moon.png"))
    reader.close()
    # a third process opening the file reads the packed cache written by the reader (same answer)
    again = Index(db, readonly=True)
    assert again.query(skdata.moon(), k=5, max_distance=64).matches == hits.matches
