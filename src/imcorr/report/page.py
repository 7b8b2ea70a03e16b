"""The report's HTML: one self-contained page (data-URI PNGs, inline CSS/JS, a CSP that forbids any fetch)."""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import math
from typing import Any

from imcorr.report._assets import CSS, JS

__all__ = ["Figure", "Section", "render_page", "embedded_json"]

#: Content-Security-Policy of the page: nothing may be loaded from anywhere (images are data: URIs).
CSP_JS = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"
CSP_BASIC = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


@dataclasses.dataclass
class Figure:
    """One PNG of a section."""

    png: bytes
    width: int
    height: int
    alt: str
    caption: str = ""


@dataclasses.dataclass
class Section:
    """One titled block of figures (id ``sec-<name>``)."""

    name: str
    title: str
    figures: list[Figure]
    note: str = ""


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def embedded_json(results: dict) -> str:
    """``results`` as JSON safe inside a ``<script>`` element (``</`` is escaped)."""
    return json.dumps(results, allow_nan=False, sort_keys=False).replace("</", "<\\/")


def _img(f: Figure, **attrs) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{_e(v)}"' for k, v in attrs.items())
    return (f'<img src="{data_uri(f.png)}" width="{f.width}" height="{f.height}" alt="{_e(f.alt)}"{extra}>')


def _fmt(v, digits: int = 4) -> str:
    if v is None:
        return "undefined"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if not math.isfinite(v):
            return "undefined"
        if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
            return f"{v:.4g}"
        return f"{v:.{digits}f}"
    return str(v)


def _range(r) -> str:
    lo, hi = (("-∞" if x is None and i == 0 else "∞" if x is None else _fmt(float(x), 0)) for i, x in enumerate(r))
    return f"[{lo}, {hi}]"


def _header(res: dict) -> str:
    ins = res["inputs"]
    rows = []
    for key in ("a", "b"):
        d = ins[key]
        extra = f", {d['non_finite_pixels']} non-finite pixels" if d.get("non_finite_pixels") else ""
        rows.append(f"<tr><th>{'reference' if key == 'a' else 'moving'}</th><td><code>{_e(d['name'])}</code></td>"
                    f"<td>{_e(' × '.join(map(str, d['shape'])))}</td><td>{_e(d['dtype'])}{_e(extra)}</td></tr>")
    m = ins["mask"]
    rows.append("<tr><th>mask</th><td colspan=3>"
                + (_e(f"{m['valid_pixels']} valid pixels of {' × '.join(map(str, m['shape']))}") if m else "none")
                + "</td></tr>")
    p = res["parameters"]
    colour = "none (gray)" if p["channel_axis"] is None else f"{p['channel_axis']} (metrics per colour; maps on luma)"
    params = [("data range", "undefined" if p["data_range"] is None else f"{p['data_range']:g}"),
              ("colour axis", colour),
              ("local correlation window", p["local_window"]),
              ("shift method", f"{p['shift']['method']}, upsample {p['shift']['upsample']}"),
              ("sections", ", ".join(p["sections"]))]
    run = [("imcorr", res["imcorr_version"]), ("created", res["created"]), ("analysis time", f"{res['seconds']:.2f} s"),
           ("seed", res["seed"])]
    prow = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in params)
    rrow = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in run)
    return (f'<section id="header" class="meta"><div><h2>Inputs</h2><div class="table-wrap"><table>'
            f'<tr><th></th><th>name</th><th>shape</th><th>dtype</th></tr>{"".join(rows)}</table></div></div>'
            f'<div><h2>Parameters</h2><table>{prow}</table></div><div><h2>Run</h2><table>{rrow}</table></div>'
            f'</section>')


def _summary(res: dict) -> str:
    info = res["metric_info"]
    rows = []
    for m in res["compare"]["metrics"]:
        name = m["name"]
        spec = info.get(name, {"range": m["range"], "higher_is_better": m["higher_is_better"]})
        direction = "higher = more similar" if spec["higher_is_better"] else "lower = more similar"
        value = _fmt(m["value"], 4) + (" dB" if name == "psnr" and m["value"] is not None else "")
        rid = ' id="summary-r"' if name == "pearson" else ""
        rows.append(f'<tr data-metric="{_e(name)}"><th>{_e(name)}</th><td{rid}>{_e(value)}</td>'
                    f"<td>{_e(_range(spec['range']))}</td><td>{direction}</td>"
                    f"<td class=\"muted\">{_e(m['reason'] or '')}</td></tr>")
    s = res["summary"]["shift"]
    shift = s.get("shift") or []
    unc = s.get("uncertainty")
    shift_txt = "(" + ", ".join(_fmt(v, 3) for v in shift) + ")"
    shift_txt += f" ± {_fmt(unc, 3)} px" if unc is not None else " px (no uncertainty estimate)"
    srows = [("shift (dy, dx) of moving vs reference", shift_txt, "id=\"summary-shift\""),
             ("correlation peak", _fmt(s.get("peak"), 4), ""),
             ("peak-to-sidelobe ratio", _fmt(s.get("peak_to_sidelobe"), 2), ""),
             ("overlap after the shift", _fmt(s.get("overlap"), 3), ""),
             ("rotation / scale", "not estimated (translation only; see imcorr.estimate_similarity)", "")]
    shift_rows = "".join(f"<tr><th>{_e(k)}</th><td {a}>{_e(v)}</td></tr>" for k, v, a in srows)
    warns = res["summary"]["warnings"]
    wl = ("<ul class=\"warnings\">" + "".join(f"<li>{_e(w)}</li>" for w in warns) + "</ul>") if warns else \
        '<p class="muted">No warnings.</p>'
    return (f'<section id="summary"><h2>Summary</h2><p>Pearson r = <strong id="summary-r-big">'
            f'{_e(_fmt(res["summary"]["pearson_r"], 4))}</strong></p>'
            f'<div class="table-wrap"><table id="metrics"><tr><th>metric</th><th>value</th><th>range</th>'
            f'<th>direction</th><th>note</th></tr>{"".join(rows)}</table></div>'
            f'<h3>Alignment</h3><table id="alignment">{shift_rows}</table>'
            f'<h3>Warnings</h3>{wl}</section>')


def _viewer(a: Figure, b: Figure, basic: bool) -> str:
    if basic:
        return (f'<section id="viewer"><h2>Reference and aligned moving image</h2><div class="grid">'
                f'<figure>{_img(a)}<figcaption>{_e(a.caption)}</figcaption></figure>'
                f'<figure>{_img(b)}<figcaption>{_e(b.caption)}</figcaption></figure></div></section>')
    modes = [("side", "1 side by side"), ("swipe", "2 swipe"), ("onion", "3 onion skin"), ("flicker", "4 flicker")]
    btns = "".join(f'<button type="button" class="vw-mode" data-mode="{m}" aria-pressed="false">{t}</button>'
                   for m, t in modes)
    ratio = f"aspect-ratio: {a.width} / {a.height}"
    return (
        '<section id="viewer"><h2>Viewer: reference vs aligned moving image</h2>'
        f'<div class="vw-bar" role="toolbar" aria-label="viewer mode">{btns}'
        '<span class="muted">keys 1–4 switch mode; wheel or +/− zooms both images, drag pans, 0 resets</span></div>'
        '<div class="vw-stage" id="vw-stage" data-mode="side" data-flicker-ms="600">'
        f'<div class="vw-pane vw-a"><div class="vw-view" style="{ratio}">{_img(a, id="vw-img-a")}</div>'
        f'<div class="vw-cap">{_e(a.caption)}</div></div>'
        f'<div class="vw-pane vw-b"><div class="vw-view" style="{ratio}">{_img(b, id="vw-img-b")}</div>'
        f'<div class="vw-cap">{_e(b.caption)}</div></div>'
        '<div class="vw-split" id="vw-split"></div>'
        '<div class="vw-flag" id="vw-flag" data-a="reference" data-b="aligned moving"></div></div>'
        '<div class="vw-bar">'
        '<label class="vw-swipe-ctl">swipe <input type="range" id="vw-swipe" min="0" max="100" value="50"></label>'
        '<label class="vw-onion-ctl">moving opacity <input type="range" id="vw-opacity" min="0" max="100" '
        'value="50"></label>'
        '<label class="vw-zoom">zoom <input type="range" id="vw-zoom" min="1" max="16" step="0.25" value="1"></label>'
        '<button type="button" id="vw-reset">reset zoom</button></div></section>'
    )


def _section(s: Section) -> str:
    figs = "".join(f"<figure>{_img(f)}<figcaption>{_e(f.caption)}</figcaption></figure>" for f in s.figures)
    note = f'<p class="muted">{_e(s.note)}</p>' if s.note else ""
    return f'<section id="sec-{_e(s.name)}"><h2>{_e(s.title)}</h2>{note}<div class="grid">{figs}</div></section>'


def render_page(results: dict, viewer: tuple[Figure, Figure], sections: list[Section], *, basic: bool) -> str:
    """The whole HTML page (``basic``: no JavaScript at all, the JSON in a ``<pre>`` instead of a script)."""
    title = results["title"]
    data = embedded_json(results)
    if basic:
        machine = (f'<details id="json"><summary>Results as JSON</summary><pre id="imcorr-results">'
                   f"{_e(json.dumps(results, indent=1, allow_nan=False))}</pre></details>")
        script = ""
    else:
        machine = f'<script type="application/json" id="imcorr-results">{data}</script>'
        script = f"<script>{JS}</script>"
    body = "".join([
        f"<h1>{_e(title)}</h1>",
        '<p class="muted">Written by imcorr; a single self-contained file (no network access).'
        + (" Basic variant: no JavaScript." if basic else "") + "</p>",
        _header(results), _summary(results), _viewer(*viewer, basic), "".join(_section(s) for s in sections),
        machine,
    ])
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        '<link rel="icon" href="data:,">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP_BASIC if basic else CSP_JS}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="generator" content="imcorr">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head>"
        f"<body><main>{body}</main>{script}</body></html>\n"
    )
