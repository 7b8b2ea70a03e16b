"""Value objects for perceptual hashes: :class:`ImageHash` and :class:`HashBatch`.

Both follow imagehash's conventions so stored hashes stay interchangeable:

* the bits are a boolean array in imagehash's layout (row-major, ``hash_size x hash_size``
  for the square hashes, ``14 x binbits`` for the colour hash);
* ``str(h)`` is imagehash's hex string: the flattened bits read as one big-endian binary
  number, zero-padded to ``ceil(bits / 4)`` hex digits;
* ``h1 - h2`` is the Hamming distance (number of differing bits).

``ImageHash`` also exposes ``.hash`` (the bool array), so it interoperates with
``imagehash.ImageHash`` in both directions: ``ours - theirs`` and ``theirs - ours``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from imcorr._core.results import Result, no_json
from imcorr.errors import InputError, ShapeMismatchError

__all__ = [
    "ImageHash",
    "HashBatch",
]

#: Names of the 8 dihedral variants, in the order :class:`ImageHash.variants` stores them.
DIHEDRAL_NAMES = ("identity", "rot90", "rot180", "rot270", "flip_lr", "flip_ud", "transpose", "anti_transpose")


def bits_to_hex(bits: np.ndarray) -> str:
    """imagehash's hex string of a bool array (flattened, big-endian, ``ceil(n/4)`` digits)."""
    flat = np.asarray(bits, dtype=bool).reshape(-1)
    n = flat.size
    pad = (-n) % 8
    if pad:
        flat = np.concatenate([np.zeros(pad, dtype=bool), flat])
    hx = np.packbits(flat).tobytes().hex()
    return hx[len(hx) - (-(-n // 4)) :]


def hex_to_bits(hexstr: str, shape: tuple[int, ...]) -> np.ndarray:
    """Inverse of :func:`bits_to_hex` for a known bit-array ``shape``."""
    n = math.prod(shape)
    width = -(-n // 4)
    if len(hexstr) != width:
        raise InputError(f"hex: {hexstr!r} has {len(hexstr)} digits but a {shape} hash needs {width}")
    try:
        value = int(hexstr, 16)
    except ValueError as exc:
        raise InputError(f"hex: {hexstr!r} is not a hexadecimal string") from exc
    if value >> n:
        raise InputError(f"hex: {hexstr!r} has more than {n} significant bits for shape {shape}")
    nbytes = -(-n // 8)
    raw = np.unpackbits(np.frombuffer(value.to_bytes(nbytes, "big"), dtype=np.uint8))
    return raw[raw.size - n :].astype(bool).reshape(shape)


def _bits_of(other: Any, name: str = "other") -> np.ndarray:
    if isinstance(other, ImageHash):
        return other.bits
    arr = getattr(other, "hash", None)  # imagehash.ImageHash
    if isinstance(arr, np.ndarray):
        return arr.astype(bool, copy=False)
    raise TypeError(f"{name}: expected an ImageHash, got {type(other).__name__}")


_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def _popcount(x: np.ndarray) -> np.ndarray:
    """Set bits per uint8 (``np.bitwise_count`` on numpy >= 2, a lookup table before)."""
    f = getattr(np, "bitwise_count", None)
    return f(x) if f is not None else _POPCOUNT[x]


def _hamming(a: np.ndarray, b: np.ndarray) -> int:
    if a.size != b.size:
        raise ShapeMismatchError(
            f"hashes differ in size ({a.shape} vs {b.shape}); compare hashes of the same method and hash_size"
        )
    return int(np.count_nonzero(a.reshape(-1) != b.reshape(-1)))


@dataclasses.dataclass(frozen=True, eq=False)
class ImageHash(Result):
    """A perceptual hash: bits, method and size, with imagehash-compatible operations.

    Attributes
    ----------
    bits : ndarray of bool
        The hash bits (read-only), imagehash's layout.
    method : str
        ``"ahash"``, ``"dhash"``, ``"phash"``, ``"whash"`` or ``"colorhash"`` (``""`` when
        parsed from hex without a method).
    hash_size : int
        The ``hash_size`` argument (``binbits`` for the colour hash).
    variants : tuple of ImageHash or None
        With ``invariant=True``: the hashes of the 8 dihedral variants of the image
        (order :data:`DIHEDRAL_NAMES`, ``variants[0]`` is the plain hash, equal to
        ``bits``). ``h1 - h2`` is then the smallest distance between one image and any
        variant of the other (taken both ways, so it is symmetric).

    Notes
    -----
    ``h1 - h2`` is the Hamming distance, ``str(h)`` imagehash's hex string (an invariant
    hash prints its 8 variants separated by commas), :meth:`from_hex` parses both.
    ``h1 == h2`` compares the bits; hashes are hashable (usable as dict keys).
    """

    bits: np.ndarray = no_json()
    method: str = ""
    hash_size: int = 0
    variants: tuple | None = no_json()

    def __post_init__(self) -> None:
        b = np.array(self.bits, dtype=bool, copy=True)
        if b.ndim == 1:
            b = b[None, :]
        b.setflags(write=False)
        object.__setattr__(self, "bits", b)
        if not self.hash_size:
            object.__setattr__(self, "hash_size", int(b.shape[0]))

    # -- imagehash compatibility ------------------------------------------------------
    @property
    def hash(self) -> np.ndarray:
        """The bits (imagehash's attribute name)."""
        return self.bits

    @property
    def hex(self) -> str:
        """imagehash's hex string of the plain (identity) hash."""
        return bits_to_hex(self.bits)

    @property
    def invariant(self) -> bool:
        """True if the hash carries its 8 dihedral variants."""
        return self.variants is not None

    def __str__(self) -> str:
        if self.variants is not None:
            return ",".join(bits_to_hex(v.bits) for v in self.variants)
        return bits_to_hex(self.bits)

    def __repr__(self) -> str:
        inv = ", invariant" if self.variants is not None else ""
        return f"ImageHash({self.method or 'hash'} {self.hex}, hash_size={self.hash_size}{inv})"

    def __len__(self) -> int:
        return int(self.bits.size)

    def __eq__(self, other: object) -> bool:
        try:
            ob = _bits_of(other)
        except TypeError:
            return NotImplemented
        return ob.size == self.bits.size and bool(np.array_equal(self.bits.reshape(-1), ob.reshape(-1)))

    def __hash__(self) -> int:
        return hash((self.bits.shape, np.packbits(self.bits).tobytes()))

    def __sub__(self, other: Any) -> int:
        return self.closest_variant(other)[0]

    def __rsub__(self, other: Any) -> int:
        return self.closest_variant(other)[0]

    def closest_variant(self, other: Any) -> tuple[int, str]:
        """``(distance, variant name)`` of the closest dihedral pair.

        Without variants on either side this is ``(Hamming distance, "identity")``. The
        name says how the image of ``self`` would be transformed to match ``other``
        (when ``self`` carries variants), else how ``other``'s image was transformed.
        """
        if other is None:
            raise TypeError("other: cannot compare a hash with None")
        ob = _bits_of(other)
        best = (_hamming(self.bits, ob), DIHEDRAL_NAMES[0])
        if self.variants is not None:
            for name, v in zip(DIHEDRAL_NAMES, self.variants):
                d = _hamming(v.bits, ob)
                if d < best[0]:
                    best = (d, name)
        other_variants = getattr(other, "variants", None)
        if isinstance(other, ImageHash) and other_variants is not None:
            for name, v in zip(DIHEDRAL_NAMES, other_variants):
                d = _hamming(self.bits, v.bits)
                if d < best[0]:
                    best = (d, name)
        return best

    @classmethod
    def from_hex(cls, hexstr: str, shape: tuple[int, int] | None = None, *, method: str = "") -> ImageHash:
        """Parse ``str(h)`` back into a hash.

        Parameters
        ----------
        hexstr : str
            imagehash-style hex; 8 comma-separated hex strings give an invariant hash.
        shape : (int, int), optional
            Bit-array shape. Default: square, inferred from the length (like imagehash's
            ``hex_to_hash``); pass ``(14, binbits)`` for a colour hash.
        method : str
            Method name to attach (informational).
        """
        if not isinstance(hexstr, str):
            raise InputError(f"hexstr: expected a str, got {type(hexstr).__name__}")
        parts = [p.strip() for p in hexstr.strip().split(",")]
        if len(parts) not in (1, len(DIHEDRAL_NAMES)):
            raise InputError(f"hexstr: expected 1 or 8 comma-separated hex strings, got {len(parts)}")
        if shape is None:
            nbits = 4 * len(parts[0])
            side = math.isqrt(nbits)
            # the hex may carry up to 3 padding bits: find the square that fits
            while side * side > nbits or -(-side * side // 4) != len(parts[0]):
                side -= 1
                if side < 2:
                    raise InputError(
                        f"hexstr: {parts[0]!r} is not the hex of a square hash; pass shape=(rows, cols)"
                    )
            shape = (side, side)
        shape = (int(shape[0]), int(shape[1]))
        hs = shape[1] if method == "colorhash" else shape[0]
        hashes = [cls(hex_to_bits(p, shape), method, hs) for p in parts]
        if len(hashes) == 1:
            return hashes[0]
        return cls(hashes[0].bits, method, hs, tuple(hashes))

    def to_dict(self) -> dict[str, Any]:
        return {
            "hex": self.hex,
            "method": self.method,
            "hash_size": int(self.hash_size),
            "shape": list(self.bits.shape),
            "variants": None if self.variants is None else [v.hex for v in self.variants],
        }


@dataclasses.dataclass(frozen=True, eq=False)
class HashBatch(Result):
    """The hashes of many images, as one ``(N, rows, cols)`` bool array.

    Attributes
    ----------
    bits : ndarray of bool, shape (N, rows, cols)
    method : str
    hash_size : int
    sources : tuple of str
        File names for hashes of files, ``"#i"`` for in-memory images.

    ``len(batch)``, ``batch[i]`` (an :class:`ImageHash`), iteration, :meth:`hex` and
    :meth:`distances` (all pairwise Hamming distances, vectorized) are supported.
    """

    bits: np.ndarray = no_json()
    method: str = ""
    hash_size: int = 0
    sources: tuple = ()

    def __len__(self) -> int:
        return int(self.bits.shape[0])

    def __getitem__(self, i: int) -> ImageHash:
        return ImageHash(self.bits[i], self.method, self.hash_size)

    def __iter__(self) -> Iterator[ImageHash]:
        return (self[i] for i in range(len(self)))

    def hex(self) -> list[str]:
        """imagehash hex strings, one per image."""
        n = self.bits[0].size if len(self) else 0
        pad = (-n) % 8
        flat = self.bits.reshape(len(self), -1)
        if pad:
            flat = np.concatenate([np.zeros((len(self), pad), dtype=bool), flat], axis=1)
        packed = np.packbits(flat, axis=1)
        width = -(-n // 4)
        return [row.tobytes().hex()[-width:] if width else "" for row in packed]

    def _packed(self) -> np.ndarray:
        return np.packbits(self.bits.reshape(len(self), -1), axis=1)

    def distances(self, other: HashBatch | Sequence[ImageHash] | None = None) -> np.ndarray:
        """Hamming distance of every pair: ``(len(self), len(other))`` int array.

        ``other=None`` compares the batch with itself (a symmetric matrix, zero diagonal).
        """
        n_self = int(np.prod(self.bits.shape[1:]))
        a = self._packed()
        if other is None:
            b, n_other = a, n_self
        elif isinstance(other, HashBatch):
            b, n_other = other._packed(), int(np.prod(other.bits.shape[1:]))
        else:
            flat = np.stack([_bits_of(h).reshape(-1) for h in other])
            b, n_other = np.packbits(flat, axis=1), flat.shape[1]
        if n_self != n_other:
            raise ShapeMismatchError(
                f"distances: hashes of {n_self} and {n_other} bits; use the same method and hash_size"
            )
        out = np.empty((a.shape[0], b.shape[0]), dtype=np.int64)
        step = max(1, (1 << 22) // max(b.size, 1))
        for i in range(0, a.shape[0], step):
            x = np.bitwise_xor(a[i : i + step, None, :], b[None, :, :])
            out[i : i + step] = _popcount(x).sum(axis=2, dtype=np.int64)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "hash_size": int(self.hash_size),
            "hashes": [{"source": s, "hex": h} for s, h in zip(self.sources, self.hex())],
        }
