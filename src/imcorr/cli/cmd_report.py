"""``imcorr report A B``: one self-contained HTML report; ``imcorr plot KIND A B -o out.png``: one figure."""

from __future__ import annotations

import click

from imcorr.cli._app import app
from imcorr.cli._common import echo_json, load_mask, pair_options

PLOT_KINDS = ("joint", "surface", "overlay", "ssim", "localmap")
OVERLAY_KINDS = ("falsecolor", "blend", "checker", "diff")


def _sections(text: str | None):
    return None if text is None else [s.strip() for s in text.split(",") if s.strip()]


@app.command("report")
@click.argument("image_a", type=click.Path(dir_okay=False))
@click.argument("image_b", type=click.Path(dir_okay=False))
@click.option("-o", "--output", "out_path", type=click.Path(dir_okay=False), default="report.html",
              show_default=True, help="The HTML file to write (its folder must exist).")
@click.option("--title", default=None, help="Page title (default: 'imcorr report: A vs B').")
@click.option("--basic", is_flag=True, help="The variant without any JavaScript (static images, JSON in a <pre>).")
@click.option("--sections", "sections_text", default=None,
              help="Comma-separated subset: inputs, overlay, ssim, local_correlation, joint_histogram, "
                   "correlation_surface, histograms (default: all).")
@click.option("--coloc", is_flag=True,
              help="Add a colocalization section (Coloc 2 coefficients, fluorogram; the images as ch1, ch2).")
@click.option("--mask", "mask_path", type=click.Path(dir_okay=False), default=None,
              help="Mask image: non-zero pixels are used.")
@click.option("--data-range", type=float, default=None, help="Data range for SSIM/PSNR (float images need it).")
@click.option("--window", type=int, default=15, show_default=True, help="Window of the local correlation map.")
@click.option("--seed", type=int, default=0, show_default=True, help="Recorded in the header.")
@pair_options
@click.option("--json", "as_json", is_flag=True,
              help="Print the report's embedded JSON object on stdout (the file is still written).")
def report_cmd(image_a, image_b, out_path, title, basic, sections_text, coloc, mask_path, data_range, window, seed,
               gray, crop, resize, channel_axis, as_json):
    """Write a self-contained HTML report comparing IMAGE_A (reference) and IMAGE_B."""
    import imcorr
    from imcorr.cli._common import load_pair
    from imcorr.plot._figure import check_output_path

    check_output_path(out_path, (".html", ".htm"), "-o/--output")
    bad = [s for s in (_sections(sections_text) or []) if s not in imcorr.REPORT_SECTIONS]
    if bad:
        raise click.UsageError(f"--sections: unknown {bad}; choose from {', '.join(imcorr.REPORT_SECTIONS)}")
    a, b, _ = load_pair(image_a, image_b, gray=gray, crop=crop, resize=resize, channel_axis=channel_axis)
    mask = load_mask(mask_path, a.shape[:2], crop=crop)
    res = imcorr.report(a, b, path=out_path, sections=_sections(sections_text), title=title, coloc=coloc,
                        basic=basic, names=(image_a, image_b), mask=mask, data_range=data_range, window=window,
                        seed=seed)
    if as_json:
        echo_json(res.results)
        click.echo(f"wrote {res.path}", err=True)
        return
    for w in res.warnings:
        click.echo(f"warning: {w}", err=True)
    click.echo(f"wrote {res.path} ({res.bytes / 1e6:.2f} MB, {res.seconds:.2f} s)")


@app.command("plot")
@click.argument("kind", type=click.Choice(PLOT_KINDS))
@click.argument("image_a", type=click.Path(dir_okay=False))
@click.argument("image_b", type=click.Path(dir_okay=False))
@click.option("-o", "--output", "out_path", type=click.Path(dir_okay=False), required=True,
              help="Figure file, .png or .svg.")
@click.option("--overlay-kind", type=click.Choice(OVERLAY_KINDS), default="falsecolor", show_default=True,
              help="For 'overlay'.")
@click.option("--align", "do_align", is_flag=True, help="For 'overlay': align IMAGE_B to IMAGE_A first.")
@click.option("--mask", "mask_path", type=click.Path(dir_okay=False), default=None,
              help="Mask image: non-zero pixels are used (joint, ssim, localmap).")
@click.option("--data-range", type=float, default=None, help="For 'ssim' (float images need it).")
@click.option("--window", type=int, default=15, show_default=True, help="For 'localmap'.")
@click.option("--dpi", type=int, default=100, show_default=True)
@click.option("--crop", is_flag=True, help="Crop both images to their common top-left region.")
@click.option("--resize", is_flag=True, help="Resize the second image to the first's shape (linear).")
def plot_cmd(kind, image_a, image_b, out_path, overlay_kind, do_align, mask_path, data_range, window, dpi, crop,
             resize):
    """Draw one figure of IMAGE_A and IMAGE_B (gray): joint histogram, correlation surface, overlay, SSIM or
    local correlation map."""
    import imcorr
    from imcorr.cli._common import load_pair
    from imcorr.plot._figure import check_output_path

    check_output_path(out_path, (".png", ".svg"), "-o/--output")
    a, b, _ = load_pair(image_a, image_b, gray=True, crop=crop, resize=resize, channel_axis=None)
    mask = load_mask(mask_path, a.shape, crop=crop)
    if kind == "joint":
        fig = imcorr.plot_joint_histogram(a, b, mask=mask, labels=(image_a, image_b))
    elif kind == "surface":
        fig = imcorr.plot_correlation_surface(imcorr.estimate_shift(a, b, return_surface=True))
    elif kind == "overlay":
        if do_align:
            b = imcorr.align(b, imcorr.estimate_shift(a, b), mode="nearest")
        fig = imcorr.plot_overlay(a, b, overlay_kind)
    elif kind == "ssim":
        fig = imcorr.plot_map(imcorr.ssim(a, b, data_range=data_range, mask=mask, full=True))
    else:
        fig = imcorr.plot_map(imcorr.local_correlation(a, b, window=window, mask=mask))
    path = imcorr.save_figure(fig, out_path, dpi=dpi)
    click.echo(f"wrote {path}")


