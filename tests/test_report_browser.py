"""The HTML report in a real browser: Debian's Chromium driven by Playwright for Python.

One report, one browser and one page load for the whole module. Playwright never downloads a browser
here: it launches ``/usr/bin/chromium`` (``make browser`` installs it with apt when we are root). Without
it the tests skip with a loud reason, except in CI (``CI=true``), where they fail.
Screenshots are written to ``build/`` (git-ignored) as test artifacts.
"""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import stats

import imcorr
from imcorr.cli import main

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
BUILD = Path(__file__).resolve().parents[1] / "build"


def _need_browser():
    why = None
    if not CHROMIUM.exists():
        why = f"{CHROMIUM} is missing: run `make browser` as root (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            why = "the playwright package is missing: `make venv` installs the dev extras"
    if why:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"BROWSER TESTS CANNOT RUN IN CI: {why}")
        pytest.skip(f"BROWSER TESTS SKIPPED: {why}")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from test_report import make_pair

    a, b = make_pair()
    d = tmp_path_factory.mktemp("browser")
    pa, pb = d / "reference.png", d / "moving.png"
    imcorr.save(pa, a)
    imcorr.save(pb, b)
    return a, b, pa, pb, d


@pytest.fixture(scope="module")
def cli_report(files):
    """The report written by `imcorr report --json`, and the JSON it printed."""
    import contextlib

    a, b, pa, pb, d = files
    out = d / "report.html"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["report", str(pa), str(pb), "-o", str(out), "--json"]) == 0
    return out, json.loads(buf.getvalue())


@pytest.fixture(scope="module")
def browser():
    _need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def loaded(browser, cli_report):
    """One page load of the report; console messages, page errors and requests are recorded."""
    path, printed = cli_report
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    events = {"console": [], "errors": [], "requests": [], "failed": []}
    page.on("console", lambda m: events["console"].append((m.type, m.text)))
    page.on("pageerror", lambda e: events["errors"].append(str(e)))
    page.on("request", lambda r: events["requests"].append(r.url))
    page.on("requestfailed", lambda r: events["failed"].append(r.url))
    url = path.resolve().as_uri()
    page.goto(url, wait_until="load")
    BUILD.mkdir(exist_ok=True)
    yield page, events, url, printed
    page.close()


def test_the_network_check_catches_a_request(browser, cli_report, tmp_path):
    """Negative control: a copy of the page with one remote image is caught (request or CSP console error)."""
    path, _ = cli_report
    bad = tmp_path / "bad.html"
    bad.write_text(path.read_text().replace("</main>", '<img src="http://127.0.0.1:9/x.png"></main>'))
    page = browser.new_page()
    seen = []
    page.on("console", lambda m: seen.append(("console", m.type)))
    page.on("request", lambda r: seen.append(("request", r.url)))
    try:
        page.goto(bad.resolve().as_uri(), wait_until="load")
    finally:
        page.close()
    assert ("console", "error") in seen or ("request", "http://127.0.0.1:9/x.png") in seen


def _set_range(page, selector: str, value: float) -> None:
    page.eval_on_selector(selector, "(el, v) => { el.value = v; el.dispatchEvent(new Event('input')); }", value)


def _shot(page, selector: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(page.locator(selector).screenshot())).convert("L"), dtype=np.float64)


def test_loads_from_file_without_console_errors_or_network(loaded):
    page, events, url, _ = loaded
    assert url.startswith("file://")
    assert events["errors"] == []
    assert [m for m in events["console"] if m[0] in ("error", "warning")] == []
    others = [u for u in events["requests"] if u != url and not u.startswith("data:")]
    assert others == [], f"the page requested {others}"
    assert events["failed"] == []


def test_every_image_is_decoded(loaded):
    page = loaded[0]
    widths = page.eval_on_selector_all("img", "els => els.map(e => [e.complete, e.naturalWidth, e.alt])")
    assert len(widths) >= 10
    assert all(done and w > 0 for done, w, _ in widths), widths


def test_summary_r_is_pearson_to_4_decimals(loaded, files):
    page = loaded[0]
    a, b = files[:2]
    r = imcorr.pearson(a, b).r
    assert r == pytest.approx(stats.pearsonr(a.ravel().astype(float), b.ravel().astype(float)).statistic, abs=1e-12)
    assert page.inner_text("#summary-r") == f"{r:.4f}"
    assert page.inner_text("#summary-r-big") == f"{r:.4f}"


def test_embedded_json_equals_the_cli_json(loaded):
    page, _, _, printed = loaded
    text = page.eval_on_selector("#imcorr-results", "el => el.textContent")
    assert json.loads(text) == printed
    assert page.evaluate("JSON.parse(document.getElementById('imcorr-results').textContent).summary.pearson_r") \
        == pytest.approx(printed["summary"]["pearson_r"], abs=1e-15)


def test_keys_switch_the_four_modes(loaded):
    page = loaded[0]
    for key, mode in (("2", "swipe"), ("3", "onion"), ("4", "flicker"), ("1", "side")):
        page.keyboard.press(key)
        assert page.get_attribute("#vw-stage", "data-mode") == mode
        assert page.get_attribute(f'.vw-mode[data-mode="{mode}"]', "aria-pressed") == "true"


def test_swipe_slider_moves_the_split(loaded):
    page = loaded[0]
    page.keyboard.press("2")
    stage = page.locator(".vw-a .vw-view").bounding_box()
    xs = {}
    for v in (20, 75):
        _set_range(page, "#vw-swipe", v)
        box = page.locator("#vw-split").bounding_box()
        xs[v] = box["x"] - stage["x"]
        assert xs[v] == pytest.approx(v / 100 * stage["width"], abs=2)
        assert page.eval_on_selector(".vw-b .vw-view", "el => el.style.clipPath") == f"inset(0px 0px 0px {v}%)"
    # what is shown changes: the moving image's defect (a bright square right of centre) is hidden at 75 %
    left = _shot(page, "#vw-stage")
    _set_range(page, "#vw-swipe", 20)
    right = _shot(page, "#vw-stage")
    assert np.abs(left - right).mean() > 0.5
    page.keyboard.press("1")


def test_onion_skin_opacity_changes_pixels(loaded):
    page = loaded[0]
    page.keyboard.press("3")
    _set_range(page, "#vw-opacity", 0)
    only_ref = _shot(page, "#vw-stage")
    _set_range(page, "#vw-opacity", 100)
    only_mov = _shot(page, "#vw-stage")
    _set_range(page, "#vw-opacity", 50)
    half = _shot(page, "#vw-stage")
    Image.fromarray(half.astype(np.uint8)).save(BUILD / "report_onion_50.png")
    assert np.abs(only_ref - only_mov).mean() > 0.5
    # at 50 % the screen is between the two (the bright defect of the moving image at half strength)
    diff = only_mov - only_ref
    region = np.abs(diff) > 60
    assert region.any()
    assert np.median((half - only_ref)[region] / diff[region]) == pytest.approx(0.5, abs=0.15)
    page.keyboard.press("1")


def test_flicker_alternates(loaded):
    page = loaded[0]
    page.keyboard.press("4")
    seen = set()
    for _ in range(8):
        seen.add(page.eval_on_selector(".vw-b .vw-view", "el => el.style.visibility"))
        page.wait_for_timeout(200)
    page.keyboard.press("1")
    assert seen == {"visible", "hidden"}


def test_zoom_is_linked(loaded):
    page = loaded[0]
    _set_range(page, "#vw-zoom", 3)
    ta = page.eval_on_selector("#vw-img-a", "el => el.style.transform")
    tb = page.eval_on_selector("#vw-img-b", "el => el.style.transform")
    assert "scale(3)" in ta and ta == tb
    page.keyboard.press("0")
    assert "scale(1)" in page.eval_on_selector("#vw-img-b", "el => el.style.transform")


def test_screenshot_at_1280x800_is_not_blank(loaded):
    page = loaded[0]
    page.set_viewport_size({"width": 1280, "height": 800})
    page.evaluate("window.scrollTo(0, 0)")
    png = page.screenshot(path=str(BUILD / "report_1280x800.png"))
    img = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.float64)
    assert img.shape == (800, 1280)
    assert img.std() > 10
    page.locator("#viewer").screenshot(path=str(BUILD / "report_viewer.png"))
    page.screenshot(path=str(BUILD / "report_full.png"), full_page=True)


def test_readable_on_a_phone(loaded):
    page = loaded[0]
    page.set_viewport_size({"width": 390, "height": 844})
    try:
        assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
        page.screenshot(path=str(BUILD / "report_phone.png"))
    finally:
        page.set_viewport_size({"width": 1280, "height": 800})


def test_basic_variant_runs_without_javascript(browser, files):
    a, b, _, _, d = files
    out = d / "basic.html"
    imcorr.report(a, b, path=out, basic=True)
    assert re.search(r"<script", out.read_text(), re.I) is None
    ctx = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 800})
    try:
        page = ctx.new_page()
        msgs = []
        page.on("console", lambda m: msgs.append((m.type, m.text)))
        page.goto(out.resolve().as_uri())
        widths = page.eval_on_selector_all("img", "els => els.map(e => e.naturalWidth)")
        assert widths and min(widths) > 0
        assert [m for m in msgs if m[0] == "error"] == []
        page.screenshot(path=str(BUILD / "report_basic.png"))
    finally:
        ctx.close()


def test_missing_browser_skips_loudly_but_fails_in_ci(monkeypatch, tmp_path):
    import test_report_browser as mod

    monkeypatch.setattr(mod, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="BROWSER TESTS SKIPPED: .*make browser"):
        mod._need_browser()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="BROWSER TESTS CANNOT RUN IN CI"):
        mod._need_browser()
