"""``imcorr demo``: run the library on bundled sample images."""

from __future__ import annotations

import click

from imcorr.cli._app import app
from imcorr.cli._common import echo_json, json_option


@app.command("demo")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="imcorr-demo", show_default=True,
              help="Folder for the figures.")
@click.option("--seed", type=int, default=0, show_default=True)
@json_option
def demo(out_dir, seed, as_json):
    """Correlate, register, match and compare bundled sample images; write figures."""
    import io

    from rich.console import Console

    from imcorr.demo import run_demo

    console = Console(file=io.StringIO()) if as_json else None
    ctx = run_demo(out_dir, seed=seed, console=console)
    if as_json:
        echo_json({
            "out_dir": str(ctx.out_dir),
            "seed": seed,
            "true_shift": list(ctx.true_shift),
            "noise_sigma": ctx.noise_sigma,
            "sections": ctx.tables,
            "figures": [str(f) for f in ctx.figures],
        })
