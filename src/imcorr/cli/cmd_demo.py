"""``imcorr demo``: run the library on bundled sample images."""

from __future__ import annotations

import click

from imcorr.cli._app import app


@app.command("demo")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="imcorr-demo", show_default=True,
              help="Folder for the figures.")
@click.option("--seed", type=int, default=0, show_default=True)
def demo(out_dir, seed):
    """Correlate, register, match and compare bundled sample images; write figures."""
    from imcorr.demo import run_demo

    run_demo(out_dir, seed=seed)
