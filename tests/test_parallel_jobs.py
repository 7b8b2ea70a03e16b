"""hash_files and displacement_fields: two more job kinds on the batch engine (local pool and a real cluster)."""

from __future__ import annotations

import csv

import imagehash
import numpy as np
import pytest
from PIL import Image
from skimage import data

import imcorr

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None,
                                  protocol="tcp://") as lc:
        yield lc


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    d = tmp_path_factory.mktemp("photos")
    paths = []
    for name in ("camera", "coins", "moon", "astronaut"):
        p = d / f"{name}.png"
        Image.fromarray(getattr(data, name)()).save(p)
        paths.append(str(p))
    return paths


def test_hash_files_equal_imagehash_on_a_cluster(photos, cluster, tmp_path):
    out = tmp_path / "hashes.csv"
    bad = str(tmp_path / "missing.png")
    res = imcorr.hash_files(photos + [bad], methods=("phash", "dhash"), draft=False,
                            scheduler=cluster.scheduler_address, out=out)
    assert (res.n_ok, res.n_error) == (len(photos), 1)
    rows = {r["path"]: r for r in res.to_rows()}
    for p in photos:  # independent reference: imagehash on the same files
        with Image.open(p) as im:
            assert rows[p]["phash"] == str(imagehash.phash(im))
            assert rows[p]["dhash"] == str(imagehash.dhash(im))
    assert rows[bad]["status"] == "error" and "missing.png" in rows[bad]["error"]
    with open(out, newline="") as fh:
        assert len(list(csv.DictReader(fh))) == len(photos) + 1
    again = imcorr.hash_files(photos + [bad], methods=("phash", "dhash"), draft=False, out=out, resume=True)
    assert again.n_run == 0 and again.n_skipped == len(photos) + 1
    with pytest.raises(imcorr.InputError, match="methods"):
        imcorr.hash_files(photos, methods=("sha256",))


def test_displacement_fields_recover_known_shifts(tmp_path):
    ref = imcorr.gaussian_random_field((256, 256), 3.0, seed=4)
    truths = [(2, -3), (-1, 4)]  # integer shifts by roll: exact ground truth (the DIC accuracy is tested in test_dic*)
    np.save(tmp_path / "ref.npy", ref)
    pairs = []
    for i, s in enumerate(truths):
        np.save(tmp_path / f"d{i}.npy", np.roll(ref, s, axis=(0, 1)))
        pairs.append((str(tmp_path / "ref.npy"), str(tmp_path / f"d{i}.npy")))
    pairs.append((str(tmp_path / "ref.npy"), str(tmp_path / "nope.npy")))
    fields = tmp_path / "fields"
    fields.mkdir()
    res = imcorr.displacement_fields(pairs, fields_dir=fields, window=32, step=32, out=tmp_path / "f.csv")
    rows = res.to_rows()
    assert (res.n_ok, res.n_error) == (2, 1) and rows[2]["status"] == "error"
    for row, s in zip(rows, truths):
        assert row["median_dy"] == pytest.approx(s[0], abs=0.05) and row["median_dx"] == pytest.approx(s[1], abs=0.05)
        assert row["valid_fraction"] > 0.5
        field = imcorr.DisplacementField.load(row["field"])  # the whole field was kept on disk
        assert np.nanmedian(field.dx[field.valid]) == pytest.approx(row["median_dx"])
    with pytest.raises(imcorr.InputError, match="fields_dir"):
        imcorr.displacement_fields(pairs, fields_dir=tmp_path / "absent")
