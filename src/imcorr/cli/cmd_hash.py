"""``imcorr hash FILE...``: perceptual hashes of image files (imagehash-compatible hex)."""

from __future__ import annotations

import click

from imcorr.cli._app import app
from imcorr.cli._common import echo_json, json_option, name_arguments

METHODS = ("phash", "ahash", "dhash", "whash", "colorhash")


@app.command("hash")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--method", type=click.Choice(METHODS), default="phash", show_default=True, help="Hash function.")
@click.option("--size", "hash_size", type=int, default=None,
              help="hash_size (default 8; for colorhash: binbits, default 3). whash needs a power of two.")
@click.option("--invariant", is_flag=True, help="Also hash the 8 rotations/flips (prints 8 comma-separated hex).")
@click.option("--exact", is_flag=True,
              help="Decode JPEGs fully: bit-identical to imagehash (default: faster reduced-size draft decoding).")
@json_option
def hash_cmd(files, method, hash_size, invariant, exact, as_json):
    """Print the perceptual hash of each FILE as imagehash-compatible hex.

    One line per file, "HEX  FILE" (like sha256sum); --json prints one object. Hashes are
    defined on 8-bit 2-D images (gray or colour): 16-bit or float files and multi-page
    stacks are refused rather than clipped; .npy arrays follow the API's dtype policy
    (uint8, integers within 0..255, floats within [0, 1]).
    """
    from imcorr.hashing.hashes import hash_batch, hash_image
    from imcorr.io import load

    if hash_size is not None and hash_size < 1:
        raise click.UsageError(f"--size must be a positive integer, got {hash_size}")
    name_arguments({f"images[{i}]": f for i, f in enumerate(files)})
    # .npy arrays go through the array path (the API's dtype policy); image files are decoded by Pillow
    items = [load(f) if str(f).lower().endswith(".npy") else f for f in files]
    if invariant:
        if method == "colorhash":
            raise click.UsageError("--invariant does not apply to colorhash (already rotation and flip invariant)")
        hashes = []
        for f, item in zip(files, items):
            name_arguments({"image": f})
            hashes.append(hash_image(item, method, hash_size, invariant=True, draft=not exact))
        rows = [(f, str(h)) for f, h in zip(files, hashes)]
        size = hashes[0].hash_size
    else:
        batch = hash_batch(items, method, hash_size, draft=not exact)
        rows = list(zip(files, batch.hex()))
        size = batch.hash_size
    if as_json:
        echo_json(
            {
                "method": method,
                "hash_size": size,
                "invariant": bool(invariant),
                "exact": bool(exact or method == "colorhash"),
                "hashes": [{"file": f, "hex": h} for f, h in rows],
            }
        )
        return
    for f, h in rows:
        click.echo(f"{h}  {f}")
