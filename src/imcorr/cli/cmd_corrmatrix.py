"""``imcorr corrmatrix IMAGE``: correlation between every pair of columns (or rows) of one image."""

from __future__ import annotations

import click

from imcorr.cli._app import app
from imcorr.cli._common import echo_json, echo_written, json_option, name_arguments, print_table


@app.command("corrmatrix")
@click.argument("image", type=click.Path(dir_okay=False))
@click.option("--axis", type=click.Choice(("columns", "rows")), default="columns", show_default=True,
              help="Which lines are the variables (columns: like pandas DataFrame.corr()).")
@click.option("--method", type=click.Choice(("pearson", "spearman", "kendall")), default="pearson",
              show_default=True)
@click.option("--top", type=click.IntRange(min=0), default=10, show_default=True,
              help="Print the TOP strongest pairs by |r|.")
@click.option("--gray", is_flag=True, help="Convert a colour image to gray (ITU-R 601-2 luma).")
@click.option("-o", "--output", "out_path", type=click.Path(dir_okay=False), default=None,
              help="Write the whole matrix (.npy, .tif or .csv).")
@json_option
def corrmatrix(image, axis, method, top, gray, out_path, as_json):
    """Correlation matrix of the columns (or rows) of IMAGE (a 2-D image or table: .npy, TIFF, PNG...)."""
    from pathlib import Path

    import numpy as np

    import imcorr
    from imcorr.io import load, save

    suffix = Path(out_path).suffix.lower() if out_path else None
    if suffix is not None and suffix not in (".npy", ".tif", ".tiff", ".csv"):
        raise click.UsageError("-o/--output takes a .npy, .tif or .csv file")
    name_arguments({"image": image}, {"axis": "--axis"})
    x = load(image, gray=gray)
    if x.ndim == 3 and x.shape[-1] in (3, 4) and not gray:
        raise click.UsageError(f"{image} is a colour image (shape {x.shape}); add --gray")
    res = imcorr.correlation_matrix(x, axis=axis, method=method)
    if out_path:
        if suffix == ".csv":
            np.savetxt(out_path, res.matrix, delimiter=",", fmt="%.17g")
        else:
            save(out_path, res.matrix)
    pairs = res.top_pairs(top)
    label = "column" if axis == "columns" else "row"
    if as_json:
        d = res.to_dict()
        d["size"] = int(res.matrix.shape[0])
        d["top_pairs"] = [{f"{label}_i": i, f"{label}_j": j, "r": r} for i, j, r in pairs]
        if res.matrix.size <= 4096:
            d["matrix"] = res.matrix.tolist()
        if out_path:
            d["output"] = out_path
        echo_json(d)
        return
    print_table(f"{method} correlation of the {res.matrix.shape[0]} {axis} of {image} (n = {res.n} each): "
                f"strongest pairs", [(i, j, r) for i, j, r in pairs], columns=(label, label, "r"))
    if out_path:
        echo_written("output", out_path, as_json)
