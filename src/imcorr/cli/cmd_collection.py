"""Collection commands: ``imcorr index``, ``query``, ``dupes``, ``blocks`` and ``matrix DIR``.

``matrix`` here is the similarity matrix of the images of a directory (also registered
as ``simmatrix``).
"""

from __future__ import annotations

import os
import sys

import click

from imcorr.cli._app import app
from imcorr.cli._common import echo_json, json_option, print_table

DEFAULT_DB = "imcorr.sqlite"


def _db_option(f):
    return click.option("--db", "db", type=click.Path(dir_okay=False), default=DEFAULT_DB, show_default=True,
                        help="The index database (SQLite).")(f)


def _int_list(text: str, option: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise click.UsageError(f"{option}: expected comma-separated integers such as 30,16,16, got {text!r}") from None


def _show_progress(quiet: bool) -> bool:
    return not quiet and sys.stdout.isatty()


@app.command("index")
@click.argument("directory", type=click.Path(exists=True, file_okay=True))
@_db_option
@click.option("--hash", "hashes", default="phash,dhash", show_default=True,
              help="Comma-separated hashes to store (phash, dhash, ahash).")
@click.option("--workers", type=int, default=None, help="Threads that read and decode files.")
@click.option("--scheduler", default=None,
              help="Hash on tcp://host:8786 (a Dask cluster; the workers must see the same paths) or on "
                   "threads / processes / synchronous through the batch engine. Default: local threads.")
@click.option("--invariant", is_flag=True, help="Also store the hashes of the 8 flipped / rotated variants.")
@click.option("--exact", is_flag=True, default=None,
              help="New index only: decode JPEGs fully (hashes bit-identical to imagehash; slower).")
@click.option("--no-recursive", is_flag=True, help="Do not walk sub-directories.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@json_option
def index_cmd(directory, db, hashes, workers, scheduler, invariant, exact, no_recursive, quiet, as_json):
    """Hash the images under DIRECTORY into the index (incremental: unchanged files are skipped)."""
    from imcorr.collection import Index

    with Index(db, exact=exact or None) as idx:
        if scheduler is not None:  # the batch engine's hash job (imcorr.parallel.index_add); rows stored here
            from imcorr.parallel import index_add

            rep = index_add(idx, directory, hashes=hashes, invariant=invariant, recursive=not no_recursive,
                            scheduler=scheduler, workers=workers, progress=_show_progress(quiet or as_json))
        elif _show_progress(quiet or as_json):
            from rich.progress import Progress

            from imcorr.cli._common import console  # rich is loaded only when a bar is shown

            with Progress(console=console, transient=True) as bar:
                task = bar.add_task("hashing", total=None)
                rep = idx.add(directory, hashes=hashes, workers=workers, invariant=invariant,
                              recursive=not no_recursive,
                              progress=lambda done, total: bar.update(task, completed=done, total=total))
        else:
            rep = idx.add(directory, hashes=hashes, workers=workers, invariant=invariant, recursive=not no_recursive)
    if as_json:
        echo_json(dict(rep.to_dict(), db=os.path.abspath(db)))
        return
    if rep.found == 0 and not rep.failures:
        click.echo(f"no image files found in {directory}; nothing to index")
        return
    print_table(f"index {db}", [("image files found", rep.found), ("added", rep.added), ("re-hashed", rep.updated),
                                ("unchanged", rep.unchanged), ("failed", rep.failed),
                                ("files in the index", rep.total)])
    for f in rep.failures[:20]:
        click.echo(f"  {f['kind']}: {f['path']}: {f['reason']}")
    if len(rep.failures) > 20:
        click.echo(f"  ... {len(rep.failures) - 20} more (all are in the failures table of {db})")
    click.echo(f"wrote {os.path.abspath(db)}")


@app.command("query")
@click.argument("image", type=click.Path(dir_okay=False))
@_db_option
@click.option("-k", "k", type=int, default=10, show_default=True, help="Number of matches.")
@click.option("--max-distance", type=int, default=10, show_default=True, help="Largest Hamming distance.")
@click.option("--hash", "method", default="phash", show_default=True, help="Stored hash to search.")
@json_option
def query_cmd(image, db, k, max_distance, method, as_json):
    """The indexed images nearest IMAGE (exact multi-index hashing search)."""
    from imcorr.collection import Index

    if not os.path.exists(db):
        raise click.UsageError(f"--db: {db} does not exist; build it with `imcorr index DIR --db {db}`")
    with Index(db, readonly=not os.access(os.path.dirname(os.path.abspath(db)), os.W_OK)) as idx:
        res = idx.query(image, k=k, max_distance=max_distance, hash=method)
    if as_json:
        echo_json(res.to_dict())
        return
    if not res.matches:
        click.echo(f"no indexed image within {max_distance} bits of {image} ({res.n_indexed} indexed)")
        return
    print_table(f"{image}: {method} {res.hash}", [(m.path, m.distance) for m in res.matches],
                columns=("file", "distance"))


@app.command("dupes")
@click.argument("directory", required=False, type=click.Path(exists=True, file_okay=False))
@_db_option
@click.option("--max-distance", type=int, default=6, show_default=True, help="Largest Hamming distance of a link.")
@click.option("--hash", "method", default="phash", show_default=True, help="Stored hash to compare.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), default=None,
              help="Write one row per file (group, path, keep, distance_to_keep).")
@click.option("--quiet", is_flag=True, help="No progress bar when DIRECTORY is indexed first.")
@json_option
def dupes_cmd(directory, db, max_distance, method, csv_path, quiet, as_json):
    """Groups of near-duplicates in the index (DIRECTORY given: index it into --db first).

    Each group names the file to keep (largest resolution, then oldest).
    """
    from imcorr.collection import Index

    if directory is None and not os.path.exists(db):
        raise click.UsageError(f"--db: {db} does not exist; pass a DIRECTORY or build it with `imcorr index DIR`")
    with Index(db) as idx:
        if directory is not None:
            rep = idx.add(directory, hashes=(method,))
            if rep.found == 0:
                click.echo(f"no image files found in {directory}", err=as_json)
        groups = idx.duplicates(max_distance, hash=method)
    if csv_path:
        import csv

        with open(csv_path, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=["group", "path", "keep", "distance_to_keep", "width", "height"])
            w.writeheader()
            w.writerows(groups.to_rows())
    if as_json:
        echo_json(groups.to_dict())
    elif not groups.groups:
        click.echo(f"no near-duplicates within {max_distance} bits among {groups.n_files} files")
    else:
        for gi, g in enumerate(groups.groups):
            click.echo(f"group {gi + 1} ({len(g)} files)")
            for f, d in zip(g.files, g.distances):
                click.echo(f"  {'keep  ' if f == g.keep else 'remove'} {d:3d}  {f}")
    if csv_path:
        click.echo(f"wrote {csv_path}", err=as_json)


@app.command("blocks")
@click.argument("volume", type=click.Path(exists=True, dir_okay=False))
@click.option("--block", default="30,16,16", show_default=True, help="Block shape (z,y,x or y,x).")
@click.option("--step", default=None, help="Grid step (default: the block shape).")
@click.option("--threshold", type=float, default=0.95, show_default=True, help="Minimum ZNCC of a pair.")
@click.option("--min-offset", type=float, default=None, help="Minimum distance between the two blocks (pixels).")
@json_option
def blocks_cmd(volume, block, step, threshold, min_offset, as_json):
    """Pairs of blocks of VOLUME (.npy, .tif, image) that are copies of each other (ZNCC >= threshold)."""
    import imcorr

    arr = imcorr.load(volume, gray=True)
    res = imcorr.duplicated_blocks(arr, block=_int_list(block, "--block"),
                                   step=None if step is None else _int_list(step, "--step"),
                                   threshold=threshold, min_offset=min_offset)
    if as_json:
        echo_json(res.to_dict())
        return
    if not len(res):
        click.echo(f"no pair of blocks {res.block} with ZNCC >= {threshold} among {res.n_blocks} blocks")
        return
    rows = [(str(tuple(a)), str(tuple(b)), str(tuple(o)), s) for a, b, o, s in
            zip(res.first.tolist(), res.second.tolist(), res.offsets.tolist(), res.scores.tolist())]
    print_table(f"duplicated blocks {res.block} ({res.n_blocks} blocks)", rows,
                columns=("first", "second", "offset", "zncc"))


@app.command("matrix")
@click.argument("directory", type=click.Path(exists=True))
@click.option("--metric", default="phash", show_default=True, help="phash, pearson, ssim or zncc-shift.")
@click.option("--workers", type=int, default=None, help="Threads.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), default=None, help="Write the matrix as CSV.")
@click.option("--heatmap", "png_path", type=click.Path(dir_okay=False), default=None,
              help="Write a clustered heatmap PNG.")
@json_option
def matrix_cmd(directory, metric, workers, csv_path, png_path, as_json):
    """Similarity matrix of the images in DIRECTORY (one row and column per image)."""
    import imcorr

    if not os.path.isdir(directory):
        raise click.UsageError(f"{directory} is not a directory; `imcorr matrix DIR` compares the images of a "
                               "directory")
    res = imcorr.similarity_matrix(directory, metric=metric, workers=workers)
    for f in res.skipped:
        click.echo(f"skipped {f['path']}: {f['reason']}", err=True)
    if csv_path:
        res.to_csv(csv_path)
    if as_json:
        echo_json(res.to_dict())
    elif len(res) <= 12:
        short = [n[:12] for n in res.names]
        print_table(f"{metric} similarity", [(n, *row) for n, row in zip(res.names, res.values.tolist())],
                    columns=("", *short))
    else:
        click.echo(f"{len(res)} x {len(res)} {metric} similarity matrix (use --csv to write it)")
    if csv_path:
        click.echo(f"wrote {csv_path}", err=as_json)
    if png_path:
        imcorr.plot_similarity_matrix(res, png_path)
        click.echo(f"wrote {png_path}", err=as_json)


app.add_command(matrix_cmd, "simmatrix")
