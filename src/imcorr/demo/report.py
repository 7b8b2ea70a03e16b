"""Demo section: the HTML report of the demo pair (reference vs shifted, noisy copy)."""

from __future__ import annotations


def run(ctx) -> None:
    import imcorr

    res = imcorr.report(ctx.reference, ctx.moving, path=ctx.out_dir / "report.html", data_range=255.0,
                        names=("camera.png", f"camera.png shifted {ctx.true_shift} px + noise"),
                        title="imcorr demo report", seed=int(ctx.seed))
    ctx.figures.append(ctx.out_dir / "report.html")
    ctx.console.print(f"HTML report: {res.path} ({res.bytes / 1e6:.1f} MB, {res.seconds:.1f} s)")
