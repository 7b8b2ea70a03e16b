"""Helpers shared by the CLI commands: loading pairs and masks, printing tables and JSON, and
speaking CLI in messages (API parameter names -> CLI options, argument names -> file paths)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any

import click

# rich, numpy and the library are imported inside the functions: `imcorr --help` loads none of them
_console = None


def get_console():
    """The shared rich console on stdout (created on first use)."""
    global _console
    if _console is None:
        from rich.console import Console

        _console = Console()
    return _console


def __getattr__(name: str):
    if name == "console":  # the module-level console of earlier versions, now created on first use
        return get_console()
    raise AttributeError(name)


def json_option(f: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")(f)


def echo_json(obj: Any) -> None:
    """Print one JSON object (NaN/Inf become null) on stdout."""
    from imcorr._core.results import json_safe

    click.echo(json.dumps(json_safe(obj), allow_nan=False))


def print_table(title: str, rows: Iterable[tuple[str, Any]], *, columns=("quantity", "value")) -> None:
    from rich.markup import escape
    from rich.table import Table

    from imcorr._core.results import format_value as fmt

    table = Table(title=escape(title), show_header=True, header_style="bold")
    for c in columns:
        table.add_column(c)
    for row in rows:
        table.add_row(*[escape(fmt(v)) for v in row])
    get_console().print(table)


def odd_window(ctx, param, value):
    """click callback: a positive odd window size (usage error otherwise)."""
    if value is None:
        return value
    if value < 1 or value % 2 == 0:
        hint = f"; use {value - 1} or {value + 1}" if value > 1 and value % 2 == 0 else ""
        raise click.BadParameter(f"{value} is not a positive odd number (windows are 2r+1 pixels, centred){hint}")
    return value


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
    --channel-axis is not given, it is set to -1 for colour input. Alpha channels are
    dropped here; :func:`load_pair_alpha` also returns them as a mask.
    """
    a, b, channel_axis, _ = load_pair_alpha(path_a, path_b, gray=gray, crop=crop, resize=resize,
                                            channel_axis=channel_axis)
    return a, b, channel_axis


def load_pair_alpha(path_a: str, path_b: str, *, gray: bool, crop: bool, resize: bool, channel_axis: int | None):
    """:func:`load_pair` plus the valid-pixel mask from the files' alpha channels (None without alpha).

    Transparent pixels (alpha 0) of either file are invalid; commands that take masks
    combine this with --mask (:func:`combine_masks`) and say so in a warning line.
    """
    from imcorr.io import match_shapes, read

    if crop and resize:
        raise click.UsageError("--crop and --resize are mutually exclusive")
    name_arguments({"a": path_a, "b": path_b})
    ia = read(path_a, gray=gray)
    ib = read(path_b, gray=gray)
    a, b = ia.data, ib.data
    one_colour = (a.ndim == b.ndim + 1 and a.shape[-1] == 3) or (b.ndim == a.ndim + 1 and b.shape[-1] == 3)
    if one_colour and not gray:
        raise click.UsageError(
            f"{path_a} has shape {a.shape} and {path_b} has shape {b.shape}: one is colour; add --gray"
        )
    alpha = None
    for img, path in ((ia, path_a), (ib, path_b)):
        if img.mask is not None:
            alpha = img.mask if alpha is None or alpha.shape != img.mask.shape else alpha & img.mask
            warn(f"{path}: its alpha channel is used as a mask (transparent pixels are left out)")
    if crop or resize:
        a, b = match_shapes(a, b, "crop" if crop else "resize")
        if alpha is not None:
            alpha = alpha[tuple(slice(0, n) for n in a.shape[: alpha.ndim])]
    colour = a.ndim == 3 and a.shape[-1] in (3, 4) and not gray and channel_axis is None and a.shape[0] > 4
    if colour:
        channel_axis = -1
    spatial = a.shape if channel_axis is None else tuple(n for i, n in enumerate(a.shape) if i != channel_axis % a.ndim)
    if alpha is not None and alpha.shape != spatial:
        alpha = None  # the two files' alpha channels cover different regions (crop/resize): ignored
    return a, b, channel_axis, alpha


def combine_masks(*masks):
    """The AND of the given masks (None entries are skipped; None when all are None)."""
    out = None
    for m in masks:
        if m is None:
            continue
        out = m if out is None else (out & m if out.shape == m.shape else _shape_error(out, m))
    return out


def _shape_error(a, b):
    from imcorr.errors import MaskError

    raise MaskError(f"mask: shape {b.shape} does not match the image shape {a.shape}")


def load_mask(path: str | None, shape: tuple[int, ...] | None = None, *, crop: bool = False, option: str = "--mask"):
    """Load a mask file in the first image's coordinates (True = use the pixel).

    A mask file is binary: a bool ``.npy``, or an image holding 0 (excluded) and one other
    value (used: 1, 255, 65535...). Grey levels, NaN and colour are refused, naming the file
    and ``option``. With ``crop`` (the --crop option) a mask larger than the spatial
    ``shape`` of the cropped images is cropped to the same common top-left region.
    """
    if path is None:
        return None
    import numpy as np

    from imcorr.errors import MaskError
    from imcorr.io import read

    img = read(path)
    m = img.data
    if m.ndim == 3 and m.shape[-1] in (3, 4) and not str(path).lower().endswith(".npy"):
        if not (m == m[..., :1]).all():
            raise MaskError(f"{option} {path}: a mask image must be gray (binary), got colour pixels")
        m = m[..., 0]
    if m.dtype.kind == "f" and not np.isfinite(m).all():
        raise MaskError(f"{option} {path}: contains NaN/Inf; a mask must hold 0 (excluded) and 1 (used)")
    values = np.unique(m) if m.size <= 1 << 24 else np.unique(m[:: max(1, m.size >> 20)])
    nonzero = values[values != 0]
    if nonzero.size > 1:
        shown = ", ".join(f"{v:g}" for v in values[:6]) + (", ..." if values.size > 6 else "")
        raise MaskError(
            f"{option} {path}: holds {values.size} different values ({shown}); a mask must be binary: "
            "0 = excluded and one other value (1 or 255) = used. Threshold it first"
        )
    m = m != 0
    if crop and shape is not None and m.ndim == len(shape) and all(n >= s for n, s in zip(m.shape, shape)):
        m = m[tuple(slice(0, s) for s in shape)]
    if shape is not None and m.shape != tuple(shape):
        raise MaskError(f"{option} {path}: shape {m.shape} does not match the image shape {tuple(shape)}")
    if not m.any():
        raise MaskError(f"{option} {path}: selects no pixels (all zero); nothing to compute")
    return m


# ------------------------------------------------------------------ messages in CLI terms
#: API parameter -> CLI option, used to rewrite error and warning messages (``pass mask=`` ->
#: ``use --mask``, ``hash_size=1000`` -> ``--size 1000``, ``window: ...`` -> ``--window: ...``).
#: A command can override entries (or map a parameter to None: no such option) with :func:`name_arguments`.
OPTION_NAMES: dict[str, str] = {
    "mask": "--mask",
    "image_mask": "--image-mask",
    "reference_mask": "--mask-ref",
    "moving_mask": "--mask-moving",
    "hash_size": "--size",
    "binbits": "--size",
    "upsample": "--upsample",
    "window": "--window",
    "data_range": "--data-range",
    "threshold": "--threshold",
    "max_lag": "--max-lag",
    "fs": "--fs",
    "permutations": "--permutations",
    "block_size": "--block-size",
    "channel_axis": "--channel-axis",
    "level": "--level",
    "max_matches": "--max",
    "min_distance": "--min-distance",
    "metrics": "--metrics",
    "method": "--method",
    "precision": "--precision",
    "pvalue_method": "--pvalue",
    "seed": "--seed",
    "mode": "--mode",
    "normalize": "--normalize",
    "features": "--features",
    "max_features": "--max-features",
    "ratio": "--ratio",
    "rowvar": "--rowvar",
    "max_samples": "--max-samples",
}
_files: dict[str, str] = {}  # API argument name (a, b, image, template...) -> file path, per invocation
_options: dict[str, str | None] = {}  # per-command overrides of OPTION_NAMES


def reset_names() -> None:
    """Forget the previous invocation's argument names (called by :func:`imcorr.cli.main`)."""
    _files.clear()
    _options.clear()


def name_arguments(files: dict[str, str] | None = None, options: dict[str, str | None] | None = None) -> None:
    """Say which file each API argument came from (``{"a": "x.png"}``) and override option names."""
    _files.update({k: str(v) for k, v in (files or {}).items()})
    _options.update(options or {})


def _option(name: str) -> str | None:
    if name in _options:
        return _options[name]
    return OPTION_NAMES.get(name)


def _subject(name: str) -> str | None:
    """What an API name at the start of a message stands for on the command line (file or option)."""
    base = re.sub(r"\[\d+\]$", "", name)
    if name in _files:
        return _files[name]
    if base in _files:
        return _files[base]
    return _option(name)


def message_subject(message: str) -> str | None:
    """The API name a message starts with (``"window: ..."`` -> ``"window"``), or None."""
    m = re.match(r"^([A-Za-z_][\w]*(?:\[\d+\])?)(?=: )", message)
    return m.group(1) if m else None


def cli_message(message: str) -> str:
    """Rewrite an API message in CLI terms: argument names -> files, parameters -> options."""
    text = " ".join(str(message).split())

    def use(m: re.Match) -> str:
        opt = _option(m.group(1))
        return (f"use {opt}" + (" " if m.group(2) else "")) if opt else m.group(0)

    text = re.sub(r"\bpass ([a-z_]+)=(?=(\S)?)", use, text)

    def assign(m: re.Match) -> str:
        opt = _option(m.group(1))
        return f"{opt} " if opt else m.group(0)

    text = re.sub(r"(?<![\w.\-])([a-z_]+)=(?=[^\s=,)])", assign, text)
    text = re.sub(r"(?<![\w.\-])([a-z_]+)=(?=[\s,)]|$)", lambda m: _option(m.group(1)) or m.group(0), text)

    def bare(m: re.Match) -> str:  # parameter names with an underscore are not English words
        return _option(m.group(1)) or m.group(0)

    text = re.sub(r"(?<![\w.\-])([a-z]+_[a-z_]+)\b(?![=(\[])", bare, text)

    def lead(m: re.Match) -> str:
        sub = _subject(m.group(1))
        return sub if sub else m.group(1)

    text = re.sub(r"^([A-Za-z_]\w*(?:\[\d+\])?)(?=: )", lead, text)
    m = re.match(r"^(\w+) and (\w+)(?= )", text)
    if m and m.group(1) in _files and m.group(2) in _files:
        text = f"{_files[m.group(1)]} and {_files[m.group(2)]}" + text[m.end():]
    m = re.match(r"^(\w+), (\w+)(?=: )", text)
    if m and m.group(1) in _files and m.group(2) in _files:
        text = f"{_files[m.group(1)]}, {_files[m.group(2)]}" + text[m.end():]
    return text


def is_option_error(message: str) -> bool:
    """True when a message is about a CLI option's value (a usage error, exit 2), not about a file."""
    name = message_subject(message)
    if name is None or name in _files:
        return False
    return _option(name) is not None


def warn(message: str) -> None:
    """Print one ``imcorr: warning: ...`` line on stderr (in CLI terms)."""
    click.echo(f"imcorr: warning: {cli_message(message)}", err=True)


def echo_written(label: str, path, as_json: bool) -> None:
    """Echo a file the command wrote (``label: path``), on stdout unless the output is JSON."""
    if not as_json:
        click.echo(f"{label}: {path}")
