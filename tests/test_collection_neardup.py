"""Generated near-duplicate benchmark (scikit-image photos and LFW faces): the index vs imagehash brute force.

Originals are indexed together with distractors; each transformed copy queries the index.
A copy is *recalled* when its original is among the matches within the threshold; the
peer is imagehash's phash with a brute-force scan at the same threshold.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageEnhance

from imcorr.collection import Index

imagehash = pytest.importorskip("imagehash")
skdata = pytest.importorskip("skimage.data")

THRESHOLD = 10


def _originals() -> dict[str, np.ndarray]:
    photos = {
        "camera": skdata.camera(), "coins": skdata.coins(), "moon": skdata.moon(), "astronaut": skdata.astronaut(),
        "coffee": skdata.coffee(), "chelsea": skdata.chelsea(), "rocket": skdata.rocket(),
        "hubble": skdata.hubble_deep_field(), "immuno": skdata.immunohistochemistry(), "page": skdata.page(),
        "text": skdata.text(), "brick": skdata.brick(),
    }
    faces = skdata.lfw_subset()[::25]  # 8 distinct 25x25 faces, upsampled to a usable size
    for i, f in enumerate(faces):
        photos[f"face{i}"] = np.asarray(Image.fromarray((f * 255).astype(np.uint8)).resize((100, 100)))
    out = {}
    for name, arr in photos.items():  # at most 256 pixels a side keeps the test fast
        im = Image.fromarray(arr)
        scale = 256 / max(im.size)
        out[name] = np.asarray(im.resize((round(im.width * scale), round(im.height * scale)))) if scale < 1 else arr
    return out


def _jpeg(im: Image.Image, q: int) -> Image.Image:
    buf = io.BytesIO()
    im.convert("RGB" if im.mode not in ("L", "RGB") else im.mode).save(buf, "JPEG", quality=q)
    return Image.open(io.BytesIO(buf.getvalue()))


def _crop(im: Image.Image, frac: float) -> Image.Image:
    w, h = im.size
    dx, dy = int(w * frac / 2), int(h * frac / 2)
    return im.crop((dx, dy, w - dx, h - dy))


TRANSFORMS = {
    "jpeg_q30": lambda im: _jpeg(im, 30),
    "jpeg_q90": lambda im: _jpeg(im, 90),
    "resize_50": lambda im: im.resize((im.width // 2, im.height // 2), Image.Resampling.BILINEAR),
    "resize_200": lambda im: im.resize((im.width * 2, im.height * 2), Image.Resampling.BILINEAR),
    "crop_5": lambda im: _crop(im, 0.05),
    "crop_10": lambda im: _crop(im, 0.10),
    "bright_+20": lambda im: ImageEnhance.Brightness(im).enhance(1.2),
    "bright_-20": lambda im: ImageEnhance.Brightness(im).enhance(0.8),
    "rotate_3": lambda im: im.rotate(3, resample=Image.Resampling.BILINEAR),
    "flip_lr": lambda im: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
    "rot90": lambda im: im.transpose(Image.Transpose.ROTATE_90),
}


@pytest.fixture(scope="module")
def neardup_set(tmp_path_factory):
    root = tmp_path_factory.mktemp("neardup")
    (root / "db").mkdir()
    (root / "queries").mkdir()
    originals = _originals()
    for name, arr in originals.items():
        Image.fromarray(arr).save(root / "db" / f"{name}.png")
    queries = []
    for name in originals:
        src = Image.open(root / "db" / f"{name}.png")
        src.load()
        for t, fn in TRANSFORMS.items():
            p = root / "queries" / f"{name}__{t}.png"
            fn(src).save(p)
            queries.append((str(p), name, t))
    return root, queries


def _scores(found: dict[str, list[tuple[bool, int]]]) -> dict[str, tuple[float, float]]:
    """per transform: (recall, precision); found[t] = [(original recalled, number of matches)]."""
    out = {}
    for t, rows in found.items():
        recall = np.mean([ok for ok, _ in rows])
        n_match = sum(n for _, n in rows)
        precision = sum(ok for ok, _ in rows) / n_match if n_match else 1.0
        out[t] = (float(recall), float(precision))
    return out


def _run_index(idx: Index, queries) -> dict[str, tuple[float, float]]:
    found: dict[str, list] = {t: [] for t in TRANSFORMS}
    for path, name, t in queries:
        res = idx.query(path, k=100, max_distance=THRESHOLD)
        found[t].append((any(m.path.endswith(f"/{name}.png") for m in res.matches), len(res.matches)))
    return _scores(found)


def _run_imagehash(root, queries) -> dict[str, tuple[float, float]]:
    db = {p.stem: imagehash.phash(Image.open(p)) for p in sorted((root / "db").glob("*.png"))}
    found: dict[str, list] = {t: [] for t in TRANSFORMS}
    for path, name, t in queries:
        h = imagehash.phash(Image.open(path))
        hits = [k for k, v in db.items() if h - v <= THRESHOLD]  # brute force
        found[t].append((name in hits, len(hits)))
    return _scores(found)


@pytest.mark.slow
def test_recall_equals_imagehash_and_invariant_beats_it_on_flips(neardup_set, tmp_path):
    root, queries = neardup_set
    peer = _run_imagehash(root, queries)
    plain = Index(tmp_path / "plain.sqlite")
    plain.add(root / "db", hashes=("phash",))
    ours = _run_index(plain, queries)
    # the same hash (PNG files: no draft decoding involved) and an exact search: identical scores
    assert ours == peer
    inv = Index(tmp_path / "inv.sqlite")
    inv.add(root / "db", hashes=("phash",), invariant=True)
    ours_inv = _run_index(inv, queries)
    for t in ("flip_lr", "rot90"):
        assert ours_inv[t][0] > peer[t][0] and ours_inv[t][0] == 1.0, (t, ours_inv[t], peer[t])
    for t in ("jpeg_q90", "bright_+20"):  # the variants do not cost recall elsewhere
        assert ours_inv[t][0] >= peer[t][0]


@pytest.mark.slow
def test_jpeg_draft_vs_exact_recall(tmp_path):
    """JPEG files: the exact index equals imagehash; draft decoding stays within one copy of it."""
    root = tmp_path
    (root / "db").mkdir()
    (root / "q").mkdir()
    originals = _originals()
    queries = []
    for name, arr in originals.items():
        Image.fromarray(arr).save(root / "db" / f"{name}.jpg", quality=95)
        src = Image.fromarray(arr)
        for t in ("jpeg_q30", "resize_50", "crop_5", "bright_-20"):
            p = root / "q" / f"{name}__{t}.jpg"
            TRANSFORMS[t](src).convert("RGB" if src.mode == "RGB" else "L").save(p, quality=85)
            queries.append((str(p), name, t))
    db = {p.stem: imagehash.phash(Image.open(p)) for p in (root / "db").glob("*.jpg")}
    peer_hits = [name in [k for k, v in db.items() if imagehash.phash(Image.open(p)) - v <= THRESHOLD]
                 for p, name, _ in queries]
    exact = Index(root / "exact.sqlite", exact=True)
    exact.add(root / "db", hashes=("phash",))
    draft = Index(root / "draft.sqlite")
    draft.add(root / "db", hashes=("phash",))
    ex_hits = [any(m.path.endswith(f"/{n}.jpg") for m in exact.query(p, k=50, max_distance=THRESHOLD).matches)
               for p, n, _ in queries]
    dr_hits = [any(m.path.endswith(f"/{n}.jpg") for m in draft.query(p, k=50, max_distance=THRESHOLD).matches)
               for p, n, _ in queries]
    assert ex_hits == peer_hits
    assert abs(sum(dr_hits) - sum(peer_hits)) <= max(1, len(queries) // 40)
