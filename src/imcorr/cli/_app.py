"""The root click group; commands attach to :data:`app` in their own modules."""

from __future__ import annotations

import click

from imcorr import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="imcorr")
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors (accepted anywhere).")
@click.option("-q", "--quiet", is_flag=True,
              help="No progress bars (accepted anywhere; off anyway when stderr is not a terminal).")
def app(debug: bool, quiet: bool) -> None:
    """imcorr: how do these two images relate?

    Arrays are (z, y, x); shifts follow moving ~= scipy.ndimage.shift(reference, shift).
    """
