"""Perceptual hashes (imagehash-compatible): average, difference, perceptual, wavelet and colour hashes."""

from imcorr.hashing.hashes import HASH_METHODS, average_hash, colorhash, dhash, hash_batch, hash_image, phash, whash
from imcorr.hashing.types import HashBatch, ImageHash

__all__ = [
    "ImageHash",
    "HashBatch",
    "HASH_METHODS",
    "average_hash",
    "dhash",
    "phash",
    "whash",
    "colorhash",
    "hash_batch",
    "hash_image",
]
