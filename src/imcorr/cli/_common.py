"""Helpers shared by the CLI commands: loading pairs, printing tables and JSON."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from imcorr._core.results import format_value as fmt
from imcorr._core.results import json_safe

console = Console()


def json_option(f: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")(f)


def echo_json(obj: Any) -> None:
    """Print one JSON object (NaN/Inf become null) on stdout."""
    click.echo(json.dumps(json_safe(obj), allow_nan=False))


def print_table(title: str, rows: Iterable[tuple[str, Any]], *, columns=("quantity", "value")) -> None:
    table = Table(title=title, show_header=True, header_style="bold")
    for c in columns:
        table.add_column(c)
    for row in rows:
        table.add_row(*[escape(fmt(v)) for v in row])
    console.print(table)


def pair_options(f: Callable) -> Callable:
    """--gray, --crop/--resize and --channel-axis, shared by the two-image commands."""
    f = click.option("--channel-axis", type=int, default=None, help="Axis of colour channels (per-channel results).")(f)
    f = click.option("--resize", is_flag=True, help="Resize the second image to the first's shape (linear).")(f)
    f = click.option("--crop", is_flag=True, help="Crop both images to their common top-left region.")(f)
    f = click.option("--gray", is_flag=True, help="Convert colour images to gray (ITU-R 601-2 luma).")(f)
    return f


def load_pair(path_a: str, path_b: str, *, gray: bool, crop: bool, resize: bool, channel_axis: int | None):
    """Load two images for a paired comparison, applying --gray/--crop/--resize.

    Without --gray, colour images keep their channels on the last axis; if
    --channel-axis is not given, it is set to -1 for colour input.
    """
    from imcorr.io import match_shapes, read

    if crop and resize:
        raise click.UsageError("--crop and --resize are mutually exclusive")
    ia = read(path_a, gray=gray)
    ib = read(path_b, gray=gray)
    a, b = ia.data, ib.data
    one_colour = (a.ndim == b.ndim + 1 and a.shape[-1] == 3) or (b.ndim == a.ndim + 1 and b.shape[-1] == 3)
    if one_colour and not gray:
        raise click.UsageError(
            f"{path_a} has shape {a.shape} and {path_b} has shape {b.shape}: one is colour; add --gray"
        )
    if crop or resize:
        a, b = match_shapes(a, b, "crop" if crop else "resize")
    colour = a.ndim == 3 and a.shape[-1] in (3, 4) and not gray and channel_axis is None and a.shape[0] > 4
    if colour:
        channel_axis = -1
    return a, b, channel_axis


def load_mask(path: str | None, shape: tuple[int, ...] | None = None, *, crop: bool = False):
    """Load a mask image (non-zero = valid), in the first image's coordinates.

    With ``crop`` (the --crop option) a mask larger than the spatial ``shape`` of the
    cropped images is cropped to the same common top-left region.
    """
    if path is None:
        return None
    from imcorr.io import load

    m = load(path, gray=True) != 0
    if crop and shape is not None and m.ndim == len(shape) and all(n >= s for n, s in zip(m.shape, shape)):
        m = m[tuple(slice(0, s) for s in shape)]
    return m
