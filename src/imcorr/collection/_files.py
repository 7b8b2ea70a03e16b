"""Finding image files (a recursive walk that survives symlink loops) and hashing them without aborting.

Rules (documented in docs/collection.md):

* A directory contributes the files whose extension is in :data:`IMAGE_EXTENSIONS`
  (case-insensitive); other files are ignored silently. A file named explicitly is
  always tried, whatever its extension.
* Symbolic links are followed; a directory reached a second time (same device and
  inode: a symlink loop or a second link to it) is skipped once and reported.
* Each file is read once: the bytes give the content digest (BLAKE2b, 128 bits) and are
  decoded from memory by Pillow. JPEGs are decoded at reduced size (libjpeg DCT
  scaling, Pillow "draft" mode, at least twice the largest hash's resize target) unless
  ``exact``; the hashes are then computed by :func:`imcorr.hashing.hash_batch` on the
  decoded gray pixels (bit-identical to imagehash on the same pixels).
* A file Pillow cannot identify is a ``not-image`` failure, an empty one ``empty``, one
  whose decoding stops early ``truncated``, any other decoding error ``corrupt``,
  an unreadable one ``unreadable``. Failures never stop the run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import stat
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from imcorr.hashing import hash_batch, hash_image
from imcorr.hashing.hashes import DRAFT_OVERSAMPLE

__all__ = ["IMAGE_EXTENSIONS", "Decoded", "Failure", "HashSpec", "Hashed", "walk_images", "decode_file", "hash_file",
           "hash_gray", "pack_bits"]

IMAGE_EXTENSIONS = frozenset(
    ".jpg .jpeg .jpe .jfif .png .gif .bmp .dib .tif .tiff .webp .ppm .pgm .pbm .pnm .ico .tga .jp2 .j2k .pcx".split()
)

#: Resize target (width, height) of each hash at hash_size 8 is hash_size * this.
_RESIZE_FACTOR = {"phash": (4, 4), "dhash": (9 / 8, 1), "ahash": (1, 1)}


@dataclasses.dataclass
class Failure:
    path: str
    kind: str
    reason: str
    size: int | None = None
    mtime_ns: int | None = None


@dataclasses.dataclass
class Decoded:
    path: str
    size: int
    mtime_ns: int
    digest: str
    width: int = 0
    height: int = 0
    gray: np.ndarray | None = None


@dataclasses.dataclass
class Hashed:
    """A file decoded and hashed (by a worker): what the index stores, without the pixels."""

    path: str
    size: int
    mtime_ns: int
    digest: str
    width: int
    height: int
    words: dict[str, np.ndarray]  # method -> (n_variants, W) int64 packed hash words


@dataclasses.dataclass(frozen=True)
class HashSpec:
    """What :meth:`imcorr.collection.Index.add` asks a hasher to compute for every file."""

    methods: tuple[str, ...]
    hash_size: int
    invariant: bool
    draft: tuple[int, int] | None
    digests: dict  # path -> the stored content digest (a file with that digest is not decoded again)


def hash_file(path: str, spec: HashSpec) -> Hashed | Decoded | Failure:
    """Decode and hash one file as the index does (never raises for a bad file): a :class:`Hashed`, a
    :class:`Decoded` without pixels when its digest is the stored one, or a :class:`Failure`."""
    r = decode_file(path, spec.draft, spec.digests.get(path))
    if not isinstance(r, Decoded) or r.gray is None:
        return r
    words = {m: hash_gray([r.gray], m, spec.hash_size, spec.invariant)[0] for m in spec.methods}
    return Hashed(r.path, r.size, r.mtime_ns, r.digest, r.width, r.height, words)


def walk_images(sources: Iterable[str | os.PathLike], *, recursive: bool, failures: list[Failure]) -> list[str]:
    """Absolute paths of the image files under ``sources`` (sorted per directory, no duplicates)."""
    out: list[str] = []
    seen_files: set[str] = set()
    seen_dirs: set[tuple[int, int]] = set()

    def add(p: str) -> None:
        if p not in seen_files:
            seen_files.add(p)
            out.append(p)

    for src in sources:
        p = Path(src).expanduser()
        if p.is_dir():
            stack = [p.absolute()]
            while stack:
                d = stack.pop()
                try:
                    st = d.stat()
                except OSError as exc:
                    failures.append(Failure(str(d), "unreadable", f"cannot enter directory ({exc.strerror})"))
                    continue
                key = (st.st_dev, st.st_ino)
                if key in seen_dirs:
                    failures.append(Failure(str(d), "symlink-loop",
                                            "directory already visited (symlink loop or second link); skipped"))
                    continue
                seen_dirs.add(key)
                try:
                    entries = sorted(os.scandir(d), key=lambda e: e.name)
                except OSError as exc:
                    failures.append(Failure(str(d), "unreadable", f"cannot list directory ({exc.strerror})"))
                    continue
                subdirs = []
                for e in entries:
                    try:
                        is_dir = e.is_dir(follow_symlinks=True)
                        is_file = e.is_file(follow_symlinks=True)
                    except OSError:  # e.g. a symlink to itself (ELOOP)
                        is_dir = is_file = False
                    if is_dir:
                        if recursive:
                            subdirs.append(Path(e.path))
                    elif is_file and os.path.splitext(e.name)[1].lower() in IMAGE_EXTENSIONS:
                        add(os.path.abspath(e.path))
                    elif e.is_symlink() and not os.path.exists(e.path):
                        failures.append(Failure(os.path.abspath(e.path), "broken-link",
                                                "symbolic link to nothing (or a link loop); skipped"))
                stack.extend(reversed(subdirs))
        elif p.exists():
            add(str(p.absolute()))
        else:
            failures.append(Failure(str(p), "missing", "no such file or directory"))
    return out


def file_stat(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return int(st.st_size), int(st.st_mtime_ns)


def draft_size(methods: Iterable[str], hash_size: int) -> tuple[int, int]:
    """The smallest decode size (width, height) the requested hashes need from a draft JPEG."""
    w = max(_RESIZE_FACTOR[m][0] for m in methods) * hash_size
    h = max(_RESIZE_FACTOR[m][1] for m in methods) * hash_size
    return int(np.ceil(DRAFT_OVERSAMPLE * w)), int(np.ceil(DRAFT_OVERSAMPLE * h))


def read_digest(path: str) -> tuple[bytes, str]:
    with open(path, "rb") as fh:
        data = fh.read()
    return data, hashlib.blake2b(data, digest_size=16).hexdigest()


def decode_bytes(data: bytes, name: str, draft: tuple[int, int] | None) -> tuple[np.ndarray, int, int]:
    """(gray uint8 pixels, width, height) of an encoded image; raises on failure."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        width, height = im.size
        if draft is not None and im.format in ("JPEG", "MPO"):
            im.draft("L", draft)
        g = im.convert("L") if im.mode != "L" else im
        g.load()
        return np.asarray(g), width, height


def classify(exc: BaseException) -> tuple[str, str]:
    from PIL import Image, UnidentifiedImageError

    msg = str(exc) or type(exc).__name__
    if isinstance(exc, UnidentifiedImageError):
        return "not-image", "Pillow cannot identify the file as an image"
    if isinstance(exc, Image.DecompressionBombError):
        return "too-large", msg
    if "truncated" in msg.lower() or "premature end" in msg.lower() or isinstance(exc, EOFError):
        return "truncated", f"image data ends early ({msg})"
    if isinstance(exc, (PermissionError, FileNotFoundError, IsADirectoryError)):
        return "unreadable", msg
    return "corrupt", f"cannot decode ({type(exc).__name__}: {msg})"


def decode_file(path: str, draft: tuple[int, int] | None, known_digest: str | None = None) -> Decoded | Failure:
    """Read, digest and decode one file; never raises for a bad file.

    If the digest equals ``known_digest`` the pixels are not decoded (``gray`` is None).
    """
    st = file_stat(path)
    if st is None:
        return Failure(path, "unreadable", "not a regular file or cannot stat it")
    size, mtime = st
    if size == 0:
        return Failure(path, "empty", "the file is empty (0 bytes)", size, mtime)
    try:
        data, digest = read_digest(path)
    except OSError as exc:
        return Failure(path, "unreadable", f"cannot read ({exc.strerror or exc})", size, mtime)
    if known_digest is not None and digest == known_digest:
        return Decoded(path, size, mtime, digest)
    try:
        gray, w, h = decode_bytes(data, path, draft)
    except Exception as exc:  # noqa: BLE001 - every decoder error becomes a recorded failure
        kind, reason = classify(exc)
        return Failure(path, kind, reason, size, mtime)
    if gray.ndim != 2 or min(gray.shape) < 1:
        return Failure(path, "corrupt", f"decoded to an unusable shape {gray.shape}", size, mtime)
    return Decoded(path, size, mtime, digest, w, h, gray)


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """(N, ...) bool hash bits -> (N, W) int64 words: big-endian 64-bit groups of the flattened bits.

    For a 64-bit hash, word 0 is ``int(str(h), 16)`` reinterpreted as signed.
    """
    flat = np.asarray(bits, dtype=bool).reshape(bits.shape[0], -1)
    pad = (-flat.shape[1]) % 64
    if pad:
        flat = np.concatenate([flat, np.zeros((flat.shape[0], pad), dtype=bool)], axis=1)
    packed = np.packbits(flat, axis=1)  # big-endian bytes
    return packed.view(">u8").astype(np.uint64).view(np.int64)


def hash_gray(grays: list[np.ndarray], method: str, hash_size: int, invariant: bool) -> list[np.ndarray]:
    """Per image, an (n_variants, W) int64 array of packed hash words (1 variant, or 8 with ``invariant``)."""
    if invariant:
        out = []
        for g in grays:
            h = hash_image(g, method, hash_size, invariant=True)
            out.append(pack_bits(np.stack([v.bits for v in h.variants])))
        return out
    batch = hash_batch(grays, method, hash_size)
    words = pack_bits(batch.bits)
    return [words[i : i + 1] for i in range(len(grays))]
