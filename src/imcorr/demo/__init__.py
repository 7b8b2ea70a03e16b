"""``imcorr demo``: every capability on bundled sample images.

The demo builds a reference (the bundled camera image) and a *moving* copy with a
known subpixel shift and Gaussian noise, then runs one section per capability module.
A section is a module in this package named in :data:`SECTIONS` with a function
``run(ctx: DemoContext) -> None``; sections print a table and may save figures to
``ctx.out_dir``. Later capabilities add a module and a name here.
"""

from __future__ import annotations

import dataclasses
import importlib
from importlib import resources
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.markup import escape

from imcorr._core.results import format_value

SECTIONS = ["correlation", "statistics", "similarity", "matching", "registration", "hashing", "dic", "report"]


@dataclasses.dataclass
class DemoContext:
    reference: np.ndarray  # float64 gray, 0..255
    moving: np.ndarray  # reference shifted by true_shift, plus noise
    true_shift: tuple[float, float]
    noise_sigma: float
    out_dir: Path
    console: Console
    rng: np.random.Generator
    figures: list[Path] = dataclasses.field(default_factory=list)
    seed: int = 0
    tables: list[dict] = dataclasses.field(default_factory=list)  # every printed table, for ``demo --json``

    def subplots(self, ncols: int, figsize=(12, 4)):
        """A matplotlib figure with ``ncols`` axes (headless Agg backend)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        return plt.subplots(1, ncols, figsize=figsize)

    def save_figure(self, fig, axes, name: str) -> Path:
        """Hide the axes, write ``out_dir/name`` and record it in :attr:`figures`."""
        import matplotlib.pyplot as plt

        for ax in np.atleast_1d(axes):
            ax.set_axis_off()
        path = self.out_dir / name
        fig.savefig(path, dpi=80, bbox_inches="tight")
        plt.close(fig)
        self.figures.append(path)
        return path

    def table(self, title: str, rows, columns=("quantity", "value")) -> None:
        from rich.table import Table

        rows = list(rows)
        self.tables.append({"title": title, "columns": list(columns), "rows": [list(r) for r in rows]})
        t = Table(title=title, header_style="bold")
        for c in columns:
            t.add_column(c)
        for row in rows:
            t.add_row(*[escape(format_value(v)) for v in row])
        self.console.print(t)


def sample_path(name: str) -> Path:
    """Path of a bundled sample image (``camera.png``, ``astronaut.jpg``, ``coins.png``)."""
    return Path(str(resources.files("imcorr") / "data" / name))


def sample(name: str, *, gray: bool = True) -> np.ndarray:
    """A bundled sample image as an array (see ``imcorr/data/LICENSES.txt``)."""
    from imcorr.io import load

    return load(sample_path(name), gray=gray)


def make_context(out_dir: str | Path, seed: int = 0, console: Console | None = None) -> DemoContext:
    from scipy import fft, ndimage

    rng = np.random.default_rng(seed)
    ref = sample("camera.png").astype(np.float64)
    true_shift = (3.25, -5.6)
    # exact (Fourier) translation of the reflect-padded image, cropped back
    pad = 32
    big = np.pad(ref, pad, mode="reflect")
    moved = fft.ifftn(ndimage.fourier_shift(fft.fftn(big), true_shift)).real[pad:-pad, pad:-pad]
    sigma = 4.0
    moving = moved + rng.normal(0, sigma, ref.shape)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return DemoContext(ref, moving, true_shift, sigma, out, console or Console(), rng, seed=seed)


def run_demo(out_dir: str | Path = "imcorr-demo", seed: int = 0, console: Console | None = None) -> DemoContext:
    """Run every available demo section; returns the context (figures listed in it)."""
    ctx = make_context(out_dir, seed, console)
    ctx.console.print(
        f"[bold]imcorr demo[/bold]: reference = bundled camera image {ctx.reference.shape}, moving = the "
        f"reference shifted by (dy, dx) = {ctx.true_shift} px plus Gaussian noise sigma = {ctx.noise_sigma}"
    )
    for name in SECTIONS:
        mod = importlib.import_module(f"{__name__}.{name}")
        mod.run(ctx)
    if ctx.figures:
        ctx.console.print("figures written:")
        for f in ctx.figures:
            ctx.console.print(f"  {f}")
    return ctx
