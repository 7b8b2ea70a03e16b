"""``imcorr pairs PAIRS.csv``: metrics over a table of image pairs, on a local pool or a Dask cluster."""

from __future__ import annotations

import click

from imcorr.cli._app import app
from imcorr.cli._common import echo_json, json_option, print_table


@app.command("pairs")
@click.argument("pairs_csv", type=click.Path(dir_okay=False))
@click.option("--metrics", default="pearson,ssim,shift", show_default=True,
              help="Comma-separated metrics: pearson, ssim, shift.")
@click.option("--scheduler", default=None,
              help="tcp://host:8786 (a Dask cluster), or threads / processes / synchronous. Default: local threads.")
@click.option("--workers", type=int, default=None, help="Local pool size (default: the usable cores).")
@click.option("-o", "--output", "out_path", type=click.Path(dir_okay=False), default=None,
              help="CSV (or .parquet with pyarrow) the rows stream to. Default: PAIRS_CSV with .results.csv.")
@click.option("--resume", is_flag=True, help="Keep the rows already in the output; run only the missing pairs.")
@click.option("--data-range", type=float, default=None, help="SSIM data range for float images.")
@json_option
def pairs(pairs_csv, metrics, scheduler, workers, out_path, resume, data_range, as_json):
    """Compare every pair (columns a,b) of PAIRS_CSV; one result row per pair, errors included.

    Paths in the CSV are relative to its folder. A progress bar goes to stderr on a terminal.
    """
    from pathlib import Path

    from imcorr.parallel import compare_pairs

    if out_path is None:
        p = Path(pairs_csv)
        out_path = str(p.with_name(p.stem + ".results.csv"))
    res = compare_pairs(pairs_csv, metrics=metrics, scheduler=scheduler, workers=workers, out=out_path,
                        resume=resume, data_range=data_range)
    if as_json:
        echo_json(res.to_dict())
        return
    print_table(
        f"pairs: {res.n_tasks} in {Path(pairs_csv).name}",
        [("ok", res.n_ok), ("errors", res.n_error), ("run now", res.n_run), ("skipped (resume)", res.n_skipped),
         ("scheduler", res.scheduler), ("seconds", res.seconds)],
    )
    click.echo(f"wrote {res.out}")
