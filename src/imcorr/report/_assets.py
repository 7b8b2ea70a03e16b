"""The report's inline CSS and JavaScript (no file, font or script is ever loaded from elsewhere)."""

CSS = """
:root { --fg: #1d2125; --muted: #5b636b; --bg: #fff; --card: #f5f6f8; --line: #d5d9de; --accent: #2364aa; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6e8eb; --muted: #a2a9b1; --bg: #15181b; --card: #1f2327; --line: #353b41; --accent: #7fb2f0; }
}
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: var(--fg); background: var(--bg); }
main { max-width: 1200px; margin: 0 auto; padding: 16px; }
h1 { font-size: 1.5em; margin: 0.2em 0 0.4em; }
h2 { font-size: 1.2em; margin: 1.4em 0 0.5em; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
table { border-collapse: collapse; margin: 0.4em 0; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 3px 10px 3px 0; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; }
.meta { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 8px 24px; }
.muted { color: var(--muted); }
.warnings li { color: #b5540b; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(340px, 1fr)); gap: 16px; }
figure { margin: 0; background: var(--card); padding: 8px; border-radius: 6px; }
figure img { max-width: 100%; height: auto; display: block; margin: 0 auto; image-rendering: auto; }
figcaption { font-size: 0.9em; color: var(--muted); margin-top: 4px; }
code { font-size: 0.92em; }
.table-wrap { overflow-x: auto; }
/* viewer */
.vw-bar { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; margin: 6px 0; }
.vw-bar button { font: inherit; padding: 3px 10px; border: 1px solid var(--line); background: var(--card);
                 color: var(--fg); border-radius: 4px; cursor: pointer; }
.vw-bar button[aria-pressed="true"] { background: var(--accent); color: #fff; border-color: var(--accent); }
.vw-bar label { display: none; align-items: center; gap: 6px; }
.vw-bar label.vw-zoom { display: inline-flex; }
.vw-stage[data-mode="swipe"] ~ .vw-bar .vw-swipe-ctl,
.vw-stage[data-mode="onion"] ~ .vw-bar .vw-onion-ctl { display: inline-flex; }
.vw-stage { position: relative; display: flex; gap: 8px; user-select: none; }
.vw-stage:not([data-mode="side"]) { max-width: 760px; }
.vw-pane { flex: 1 1 0; min-width: 0; position: relative; }
.vw-view { position: relative; overflow: hidden; background: #000; cursor: grab; touch-action: none; }
.vw-view img { position: absolute; left: 0; top: 0; width: 100%; height: 100%; transform-origin: 0 0;
               image-rendering: pixelated; }
.vw-cap { font-size: 0.85em; color: var(--muted); }
.vw-stage:not([data-mode="side"]) .vw-b { position: absolute; left: 0; top: 0; width: 100%; }
.vw-stage:not([data-mode="side"]) .vw-b .vw-cap { visibility: hidden; }
.vw-stage:not([data-mode="side"]) .vw-b .vw-view { background: transparent; }
.vw-split { display: none; position: absolute; top: 0; bottom: 0; width: 2px; background: #ffd400;
            pointer-events: none; z-index: 2; }
.vw-stage[data-mode="swipe"] .vw-split { display: block; }
.vw-flag { position: absolute; right: 6px; top: 6px; background: rgba(0,0,0,.6); color: #fff; padding: 1px 6px;
           font-size: 0.8em; border-radius: 3px; z-index: 3; display: none; }
.vw-stage[data-mode="flicker"] .vw-flag { display: block; }
@media (max-width: 700px) {
  main { padding: 8px; }
  .vw-stage[data-mode="side"] { flex-direction: column; }
  .grid { grid-template-columns: 1fr; }
}
"""

JS = r"""
(function () {
  "use strict";
  var stage = document.getElementById("vw-stage");
  if (!stage) return;
  var imgs = Array.prototype.slice.call(stage.querySelectorAll(".vw-view img"));
  var paneB = stage.querySelector(".vw-b");
  var viewB = paneB.querySelector(".vw-view");
  var split = document.getElementById("vw-split");
  var swipe = document.getElementById("vw-swipe");
  var opacity = document.getElementById("vw-opacity");
  var zoomIn = document.getElementById("vw-zoom");
  var flag = document.getElementById("vw-flag");
  var buttons = Array.prototype.slice.call(document.querySelectorAll(".vw-mode"));
  var state = { s: 1, tx: 0, ty: 0, timer: null, showB: true };

  function applyTransform() {
    var t = "translate(" + state.tx + "px," + state.ty + "px) scale(" + state.s + ")";
    imgs.forEach(function (im) { im.style.transform = t; });
    zoomIn.value = state.s;
  }
  function clampPan() {
    var v = stage.querySelector(".vw-view");
    var w = v.clientWidth, h = v.clientHeight;
    state.tx = Math.min(0, Math.max(w - w * state.s, state.tx));
    state.ty = Math.min(0, Math.max(h - h * state.s, state.ty));
  }
  function zoomAt(s, cx, cy) {
    s = Math.min(16, Math.max(1, s));
    state.tx = cx - (cx - state.tx) * s / state.s;
    state.ty = cy - (cy - state.ty) * s / state.s;
    state.s = s;
    clampPan();
    applyTransform();
  }
  function zoomCentre(s) {
    var v = stage.querySelector(".vw-view");
    zoomAt(s, v.clientWidth / 2, v.clientHeight / 2);
  }
  function resetZoom() { state.s = 1; state.tx = 0; state.ty = 0; applyTransform(); }
  function applySwipe() {
    var p = Number(swipe.value);
    viewB.style.clipPath = stage.dataset.mode === "swipe" ? "inset(0 0 0 " + p + "%)" : "";
    split.style.left = p + "%";
  }
  function applyOpacity() {
    viewB.style.opacity = stage.dataset.mode === "onion" ? String(Number(opacity.value) / 100) : "";
  }
  function flicker() {
    state.showB = !state.showB;
    viewB.style.visibility = state.showB ? "visible" : "hidden";
    flag.textContent = state.showB ? flag.dataset.b : flag.dataset.a;
  }
  function setMode(mode) {
    stage.dataset.mode = mode;
    buttons.forEach(function (b) { b.setAttribute("aria-pressed", String(b.dataset.mode === mode)); });
    if (state.timer) { clearInterval(state.timer); state.timer = null; }
    viewB.style.visibility = "visible";
    state.showB = true;
    if (mode === "flicker") {
      flag.textContent = flag.dataset.b;
      state.timer = setInterval(flicker, Number(stage.dataset.flickerMs || 600));
    }
    applySwipe();
    applyOpacity();
  }
  buttons.forEach(function (b) { b.addEventListener("click", function () { setMode(b.dataset.mode); }); });
  swipe.addEventListener("input", applySwipe);
  opacity.addEventListener("input", applyOpacity);
  zoomIn.addEventListener("input", function () { zoomCentre(Number(zoomIn.value)); });
  document.getElementById("vw-reset").addEventListener("click", resetZoom);
  Array.prototype.forEach.call(stage.querySelectorAll(".vw-view"), function (v) {
    v.addEventListener("wheel", function (e) {
      e.preventDefault();
      var r = v.getBoundingClientRect();
      zoomAt(state.s * (e.deltaY < 0 ? 1.25 : 0.8), e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });
    v.addEventListener("dblclick", resetZoom);
    v.addEventListener("pointerdown", function (e) {
      var x0 = e.clientX, y0 = e.clientY, tx0 = state.tx, ty0 = state.ty;
      v.setPointerCapture(e.pointerId);
      function move(ev) {
        state.tx = tx0 + ev.clientX - x0;
        state.ty = ty0 + ev.clientY - y0;
        clampPan();
        applyTransform();
      }
      function up() { v.removeEventListener("pointermove", move); v.removeEventListener("pointerup", up); }
      v.addEventListener("pointermove", move);
      v.addEventListener("pointerup", up);
    });
  });
  document.addEventListener("keydown", function (e) {
    if (e.target && (e.target.tagName === "INPUT" && e.target.type !== "range")) return;
    var modes = { "1": "side", "2": "swipe", "3": "onion", "4": "flicker" };
    if (modes[e.key]) { setMode(modes[e.key]); }
    else if (e.key === "+" || e.key === "=") { zoomCentre(state.s * 1.25); }
    else if (e.key === "-") { zoomCentre(state.s * 0.8); }
    else if (e.key === "0") { resetZoom(); }
  });
  setMode(stage.dataset.mode || "side");
})();
"""
