"""Perceptual hashes: imcorr.hash_batch vs imagehash (same hashes, bit for bit).

In-memory cases: 200 crops of 256 x 256 px from real photos. imagehash receives PIL
images (mode "L", created in setup, not timed) and is called once per image, the way
it is used. imcorr receives either the same images as one uint8 numpy stack
(200, 256, 256) or the same list of PIL images; every conversion it does (PIL -> numpy,
uint8 -> float32) is inside the timed call. Accuracy = bits that differ from
imagehash's hashes (summed over all images; 0 = bit-identical).

File case: 1,000 JPEG files (crops of 6 scikit-image photos, 205-512 px a side, quality
90) written to a temporary folder in setup, so after the warm-up run they come from
the page cache. imagehash: ``imagehash.phash(Image.open(path))`` per file. imcorr:
``hash_batch(paths)`` with reduced-size draft decoding (threads = cores, and 1 thread)
and with ``draft=False`` (full decoding, bit-identical). images/s = 1e6 / ms.
Accuracy = mean differing bits per hash (of 64) against imagehash.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import numpy as np

import imcorr

from ._data import photo_mosaic
from ._harness import Case, Impl


def _hex_bits_diff(hexes_a, hexes_b) -> int:
    return sum(bin(int(a, 16) ^ int(b, 16)).count("1") for a, b in zip(hexes_a, hexes_b, strict=True))


def _hexes(out) -> list[str]:
    return out.hex() if hasattr(out, "hex") and callable(out.hex) else [str(h) for h in out]


def _memory_setup(method):
    def setup():
        import imagehash
        from PIL import Image

        rng = np.random.default_rng(0)
        big = photo_mosaic((1024, 1024), np.uint8, seed=3)
        stack = np.stack([big[y : y + 256, x : x + 256] for y, x in rng.integers(0, 768, (200, 2))])
        pils = [Image.fromarray(a) for a in stack]
        fn = imagehash.phash if method == "phash" else imagehash.average_hash
        ref = [str(fn(p)) for p in pils]
        return {"stack": stack, "pils": pils, "ref": ref, "fn": fn}

    return setup


def _files_setup():
    import imagehash
    from PIL import Image
    from skimage import data

    root = Path(tempfile.mkdtemp(prefix="imcorr-bench-jpeg-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    photos = [data.camera(), data.astronaut(), data.coffee(), data.chelsea(), data.rocket(), data.coins()]
    rng = np.random.default_rng(1)
    paths = []
    for i in range(1000):
        a = photos[i % len(photos)]
        h, w = a.shape[:2]
        ch, cw = int(h * rng.uniform(0.6, 1.0)), int(w * rng.uniform(0.6, 1.0))
        y, x = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
        crop = a[y : y + ch, x : x + cw]
        if i % 2:
            crop = crop[:, ::-1]
        p = root / f"{i:04d}.jpg"
        Image.fromarray(np.ascontiguousarray(crop)).save(p, quality=90)
        paths.append(p)
    ref = [str(imagehash.phash(Image.open(p))) for p in paths]
    return {"paths": paths, "ref": ref}


def _imagehash_files(d):
    import imagehash
    from PIL import Image

    out = []
    for p in d["paths"]:
        with Image.open(p) as im:
            out.append(imagehash.phash(im))
    return out


CASES = []
for _method in ("phash", "ahash"):
    CASES.append(
        Case(
            name=f"{_method} of 200 x 256^2 images in memory",
            setup=_memory_setup(_method),
            impls=[
                Impl("imcorr.hash_batch(uint8 stack)",
                     lambda d, m=_method: imcorr.hash_batch(d["stack"], m), peer=False),
                Impl("imcorr.hash_batch(list of PIL)",
                     lambda d, m=_method: imcorr.hash_batch(d["pils"], m), peer=False, goal=False),
                Impl(f"imagehash.{'phash' if _method == 'phash' else 'average_hash'} per PIL image",
                     lambda d: [d["fn"](p) for p in d["pils"]], requires="imagehash"),
            ],
            error=lambda out, d: float(_hex_bits_diff(_hexes(out), d["ref"])),
            goal=0.2,
            repeat=9,
            accuracy_label="bits != imagehash",
        )
    )

CASES.append(
    Case(
        name="phash of 1000 JPEG files from disk",
        setup=_files_setup,
        impls=[
            Impl("imcorr.hash_batch(paths) draft", lambda d: imcorr.hash_batch(d["paths"], "phash"), peer=False),
            Impl("imcorr.hash_batch(paths) draft, 1 thread",
                 lambda d: imcorr.hash_batch(d["paths"], "phash", workers=1), peer=False),
            Impl("imcorr.hash_batch(paths, draft=False)",
                 lambda d: imcorr.hash_batch(d["paths"], "phash", draft=False), peer=False),
            Impl("imagehash.phash(Image.open(p))", _imagehash_files, requires="imagehash"),
        ],
        error=lambda out, d: _hex_bits_diff(_hexes(out), d["ref"]) / len(d["ref"]),
        goal=None,
        goal_text="report: images/s = 1e6 / ms",
        repeat=3,
        accuracy_label="mean bits != imagehash",
    )
)
