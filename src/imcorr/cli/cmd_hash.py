"""``imcorr hash FILE...``: perceptual hashes of image files (imagehash-compatible hex)."""

from __future__ import annotations

import click

from imcorr.cli._app import app
from imcorr.cli._common import echo_json, json_option

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

    One line per file, "HEX  FILE" (like sha256sum); --json prints one object.
    """
    from imcorr.hashing.hashes import hash_batch, hash_image

    if hash_size is not None and hash_size < 1:
        raise click.UsageError(f"--size must be a positive integer, got {hash_size}")
    if invariant:
        if method == "colorhash":
            raise click.UsageError("--invariant does not apply to colorhash (already rotation and flip invariant)")
        hashes = [hash_image(f, method, hash_size, invariant=True, draft=not exact) for f in files]
        rows = [(f, str(h)) for f, h in zip(files, hashes)]
        size = hashes[0].hash_size
    else:
        batch = hash_batch(list(files), method, hash_size, draft=not exact)
        rows = list(zip(batch.sources, batch.hex()))
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
