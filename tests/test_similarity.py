"""MSE/PSNR/NRMSE, mutual information, histogram comparison, difference and compare()
against scikit-image, numpy, OpenCV and PIL."""

import json
import math

import numpy as np
import pytest
from skimage import data
from skimage.metrics import (
    mean_squared_error,
    normalized_mutual_information,
    normalized_root_mse,
    peak_signal_noise_ratio,
)

import imcorr
from imcorr.errors import InputError, MaskError, NonFiniteError, ShapeMismatchError


def _noisy(img, sigma, seed=0):
    rng = np.random.default_rng(seed)
    return np.clip(img.astype(np.float64) + rng.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)


IMAGES = ["camera", "astronaut", "coffee", "chelsea"]


# --------------------------------------------------------------------- MSE family
@pytest.mark.parametrize("name", IMAGES)
def test_mse_psnr_nrmse_equal_skimage(name):
    a = getattr(data, name)()
    b = _noisy(a, 15)
    assert imcorr.mse(a, b) == pytest.approx(mean_squared_error(a, b), rel=1e-12)
    assert imcorr.rmse(a, b) == pytest.approx(math.sqrt(mean_squared_error(a, b)), rel=1e-12)
    assert imcorr.psnr(a, b) == pytest.approx(peak_signal_noise_ratio(a, b), rel=1e-12)
    for norm in ("euclidean", "min-max", "mean"):
        ref = normalized_root_mse(a, b, normalization=norm)
        assert imcorr.nrmse(a, b, normalization=norm) == pytest.approx(ref, rel=1e-12)


def test_psnr_float_and_unsigned_wraparound():
    a = data.camera()
    b = _noisy(a, 30)
    # uint8 differences must not wrap around
    assert imcorr.mse(a, b) == pytest.approx(np.mean((a.astype(float) - b) ** 2))
    af, bf = a / 255.0, b / 255.0
    assert imcorr.psnr(af, bf, data_range=1.0) == pytest.approx(peak_signal_noise_ratio(af, bf, data_range=1.0))
    assert imcorr.psnr(a, a) == math.inf


def test_psnr_data_range_policy():
    x = np.random.default_rng(0).random((16, 16))
    with pytest.raises(InputError, match=r"data_range=1\.0"):
        imcorr.psnr(x, x * 0.5)
    with pytest.raises(InputError, match="data_range"):
        imcorr.psnr(x, x, data_range=0)
    a16 = (data.camera().astype(np.uint16) * 100)
    b16 = _noisy(data.camera(), 5).astype(np.uint16) * 100
    assert imcorr.psnr(a16, b16) == pytest.approx(peak_signal_noise_ratio(a16, b16, data_range=65535))


def test_mse_mask_and_nan():
    a = data.camera().astype(np.float64)
    b = _noisy(data.camera(), 10).astype(np.float64)
    mask = np.zeros(a.shape, bool)
    mask[100:200, 50:300] = True
    assert imcorr.mse(a, b, mask=mask) == pytest.approx(mean_squared_error(a[mask], b[mask]))
    b[0, 0] = np.nan
    with pytest.raises(NonFiniteError):
        imcorr.mse(a, b)
    full = np.ones(a.shape, bool)
    keep = full.copy()
    keep[0, 0] = False
    assert imcorr.mse(a, b, mask=full) == pytest.approx(mean_squared_error(a[keep], b[keep]))
    with pytest.raises(MaskError):
        imcorr.mse(a, b, mask=np.ones((3, 3), bool))
    # colour image with a spatial mask
    c = data.astronaut()
    d = _noisy(c, 10)
    m2 = np.zeros(c.shape[:2], bool)
    m2[:100] = True
    assert imcorr.mse(c, d, mask=m2, channel_axis=-1) == pytest.approx(mean_squared_error(c[:100], d[:100]))


def test_nrmse_zero_denominator_is_nan_with_warning():
    z = np.zeros((8, 8))
    with pytest.warns(RuntimeWarning, match="normalisation"):
        assert math.isnan(imcorr.nrmse(z, z + 1, normalization="mean"))


# ---------------------------------------------------------------- mutual information
@pytest.mark.parametrize("name", IMAGES)
@pytest.mark.parametrize("bins", [100, 256, 37])
def test_nmi_equals_skimage(name, bins):
    a = getattr(data, name)()
    b = _noisy(np.roll(a, 5, axis=1), 20)
    ref = normalized_mutual_information(a, b, bins=bins)
    got = imcorr.mutual_information(a, b, bins=bins, normalized=True).value
    assert got == pytest.approx(ref, abs=1e-12)


def test_nmi_float_path_and_lfw():
    faces = data.lfw_subset()
    for i in range(0, 10, 2):
        ref = normalized_mutual_information(faces[i], faces[i + 1], bins=32)
        got = imcorr.mutual_information(faces[i], faces[i + 1], bins=32, normalized=True)
        assert got.value == pytest.approx(ref, abs=1e-12)


def test_joint_histogram_equals_histogram2d():
    a = data.camera()
    b = _noisy(a, 30)
    for bins in (256, 100, 7):
        ref, ea, eb = np.histogram2d(a.ravel(), b.ravel(), bins=bins)
        jh = imcorr.joint_histogram(a, b, bins)
        np.testing.assert_array_equal(jh.counts, ref)
        np.testing.assert_allclose(jh.edges_a, ea)
        np.testing.assert_allclose(jh.edges_b, eb)
    # explicit range, values outside are dropped; float path
    af = a.astype(np.float64)
    ref, _, _ = np.histogram2d(af.ravel(), b.ravel(), bins=16, range=[[50, 200], [50, 200]])
    np.testing.assert_array_equal(imcorr.joint_histogram(af, b, 16, range=(50, 200)).counts, ref)


def test_mi_units_and_closed_forms():
    rng = np.random.default_rng(1)
    # b is a bijection of a's 4 equiprobable levels: MI = H = log 4, NMI = 2
    a = rng.integers(0, 4, 100_000).astype(np.uint8)
    b = (3 - a) * 10
    r = imcorr.mutual_information(a, b, bins=4)
    ent = -np.sum((p := np.bincount(a) / a.size) * np.log(p))
    assert r.mi == pytest.approx(ent, rel=1e-12)
    assert r.nmi == pytest.approx(2.0, rel=1e-12)
    rb = imcorr.mutual_information(a, b, bins=4, unit="bits")
    assert rb.mi == pytest.approx(ent / np.log(2), rel=1e-12)
    # independent: MI ~ 0, NMI ~ 1
    c = rng.integers(0, 4, 100_000).astype(np.uint8)
    r2 = imcorr.mutual_information(a, c, bins=4, normalized=True)
    assert r2.mi < 1e-3 and r2.value == pytest.approx(1.0, abs=1e-3)
    # constant images: NMI undefined
    z = np.zeros((10, 10), np.uint8)
    r3 = imcorr.mutual_information(z, z, normalized=True)
    assert math.isnan(r3.value) and r3.reason
    assert r3.to_dict()["value"] is None


def test_mi_mask_and_bad_input():
    a = data.camera()
    b = _noisy(a, 20)
    mask = np.zeros(a.shape, bool)
    mask[:200] = True
    ref = normalized_mutual_information(a[:200], b[:200], bins=64)
    assert imcorr.mutual_information(a, b, bins=64, mask=mask, normalized=True).value == pytest.approx(ref)
    with pytest.raises(InputError, match="bins"):
        imcorr.mutual_information(a, b, bins=0)
    with pytest.raises(InputError, match="unit"):
        imcorr.mutual_information(a, b, unit="dits")
    with pytest.raises(ShapeMismatchError):
        imcorr.mutual_information(a, b[:10])
    auto = imcorr.mutual_information(a, b, bins="auto")
    assert 2 <= auto.bins[0] <= 256


# ------------------------------------------------------------------------ histograms
CV_METHODS = {
    "correl": "HISTCMP_CORREL",
    "chisqr": "HISTCMP_CHISQR",
    "chisqr_alt": "HISTCMP_CHISQR_ALT",
    "intersect": "HISTCMP_INTERSECT",
    "bhattacharyya": "HISTCMP_BHATTACHARYYA",
    "hellinger": "HISTCMP_HELLINGER",
    "kl_div": "HISTCMP_KL_DIV",
}


@pytest.mark.parametrize("space", ["gray", "rgb", "hsv-hs"])
@pytest.mark.parametrize("method", list(CV_METHODS))
def test_compare_histograms_equals_opencv(space, method):
    cv2 = pytest.importorskip("cv2")
    a = data.astronaut()
    b = data.coffee()[:512, :512]
    axis = -1
    r = imcorr.compare_histograms(a, b, method=method, color_space=space, channel_axis=axis)
    # flattened: a 3-D numpy array would reach OpenCV as a 2-D multi-channel Mat
    h1 = r.hist_a.astype(np.float32).ravel()
    h2 = r.hist_b.astype(np.float32).ravel()
    ref = cv2.compareHist(h1, h2, getattr(cv2, CV_METHODS[method]))
    ours = imcorr.histogram_distance(h1, h2, method)[0]
    assert ours == pytest.approx(ref, rel=1e-6, abs=1e-6)
    assert r.value == pytest.approx(ref, rel=1e-5, abs=1e-6)  # float64 vs float32 histograms
    lo, hi = r.range
    assert lo <= r.value <= hi


def test_unnormalized_counts_equal_opencv_calchist():
    cv2 = pytest.importorskip("cv2")
    a = data.camera()
    b = data.moon()
    r = imcorr.compare_histograms(a, b, method="chisqr", normalize=False)
    h1 = cv2.calcHist([a], [0], None, [256], [0, 256]).ravel()
    h2 = cv2.calcHist([b], [0], None, [256], [0, 256]).ravel()
    np.testing.assert_array_equal(r.hist_a, h1)
    np.testing.assert_array_equal(r.hist_b, h2)
    ref = cv2.compareHist(h1, h2, cv2.HISTCMP_CHISQR)
    assert r.value == pytest.approx(ref, rel=1e-6)


def test_correl_self_comparison_is_one():
    for img in (data.camera(), data.moon(), np.full((10, 10), 7, np.uint8)):
        assert imcorr.compare_histograms(img, img, method="correl").value == 1.0
    h = np.random.default_rng(0).random(50) * 1e9 + 1e12
    assert imcorr.histogram_distance(h, h, "correl")[0] == 1.0
    flat = np.ones(10)
    val, reason = imcorr.histogram_distance(flat, np.arange(10.0), "correl")
    assert math.isnan(val) and reason


def test_hist_bad_input():
    a = data.camera()
    with pytest.raises(InputError, match="method"):
        imcorr.compare_histograms(a, a, method="emd")
    with pytest.raises(InputError, match="color_space"):
        imcorr.compare_histograms(data.astronaut(), data.astronaut(), color_space="lab")
    with pytest.raises(InputError, match="RGB"):
        imcorr.compare_histograms(a, a, color_space="rgb")


# ------------------------------------------------------------------------ difference
def test_difference_matches_pil_getbbox():
    from PIL import Image, ImageChops

    a = data.camera().copy()
    b = a.copy()
    b[100:120, 300:340] += 5
    b[400, 10] = 0 if a[400, 10] else 1
    r = imcorr.difference(a, b)
    pa, pb = Image.fromarray(a), Image.fromarray(b)
    diff = np.asarray(ImageChops.difference(pa, pb))
    np.testing.assert_array_equal(r.map, diff)
    x0, y0, x1, y1 = ImageChops.difference(pa, pb).getbbox()
    assert r.bbox == (y0, x0, y1, x1)
    assert not r.identical
    assert r.boxes[0] == (100, 300, 120, 340)
    assert (400, 10, 401, 11) in r.boxes
    same = imcorr.difference(a, a.copy())
    assert same.identical and same.bbox is None and same.boxes == ()
    assert ImageChops.difference(pa, pa).getbbox() is None


def test_difference_threshold_and_color():
    a = data.astronaut()
    b = a.copy()
    b[10:20, 30:40, 2] = 255 - b[10:20, 30:40, 2]
    r = imcorr.difference(a, b, channel_axis=-1, threshold=0)
    assert r.map.shape == a.shape[:2]
    assert r.bbox is not None and r.bbox[0] >= 10 and r.bbox[2] <= 20
    assert imcorr.difference(a, b, channel_axis=-1, threshold=255).identical
    assert json.loads(json.dumps(r.to_dict()))["identical"] is False


# --------------------------------------------------------------------------- compare
def test_compare_values_equal_individual_functions():
    a = data.camera()
    b = _noisy(np.roll(a, (3, -2), axis=(0, 1)), 10)
    c = imcorr.compare(a, b)
    from skimage.metrics import structural_similarity

    assert c["ssim"] == pytest.approx(structural_similarity(a, b), abs=1e-9)
    assert c["psnr"] == pytest.approx(peak_signal_noise_ratio(a, b))
    assert c["mse"] == pytest.approx(mean_squared_error(a, b))
    assert c["nmi"] == pytest.approx(normalized_mutual_information(a, b, bins=256))
    assert c["pearson"] == pytest.approx(np.corrcoef(a.ravel(), b.ravel())[0, 1])
    for m in c.metrics:
        assert isinstance(m.higher_is_better, bool) and len(m.range) == 2
        if math.isfinite(m.value):
            assert m.range[0] <= m.value <= m.range[1], m
    shift = [m for m in c.metrics if m.name == "shift"][0]
    if shift.reason is None or math.isfinite(shift.value):
        assert c.shift == pytest.approx((3, -2), abs=0.2)
    ph = [m for m in c.metrics if m.name == "phash_distance"][0]
    assert math.isfinite(ph.value) or ph.reason
    d = json.loads(json.dumps(c.to_dict()))
    assert d["values"]["ssim"] == pytest.approx(c["ssim"])


def test_compare_phash_distance_equals_imagehash():
    imagehash = pytest.importorskip("imagehash")
    from PIL import Image

    a = data.camera()
    b = np.ascontiguousarray(a[:, ::-1])
    c = imcorr.compare(a, b, metrics=["phash_distance"])
    ph = c.metrics[0]
    if ph.reason and "not available" in ph.reason:
        pytest.skip(ph.reason)
    ref = imagehash.phash(Image.fromarray(a)) - imagehash.phash(Image.fromarray(b))
    assert ph.value == ref and ref > 0
    # float images are scaled by data_range before hashing: same distance
    cf = imcorr.compare(a / 255.0, b / 255.0, metrics=["phash_distance"], data_range=1.0)
    assert cf.metrics[0].value == ref


def test_compare_float_without_range_skips_with_reason():
    a = data.camera() / 255.0
    c = imcorr.compare(a, a * 0.9, metrics=["ssim", "psnr", "mse"])
    assert math.isnan(c["ssim"]) and "data_range" in c.metrics[0].reason
    assert c["mse"] == pytest.approx(np.mean((a * 0.1) ** 2))
    c2 = imcorr.compare(a, a * 0.9, metrics=["ssim"], data_range=1.0)
    assert math.isfinite(c2["ssim"])
    with pytest.raises(InputError, match="metrics"):
        imcorr.compare(a, a, metrics=["nope"])


# ------------------------------------------------------------------------------- CLI
@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from imcorr.io import save

    d = tmp_path_factory.mktemp("cmp")
    a = data.camera()
    b = _noisy(a, 10)
    pa, pb = d / "a.png", d / "b.png"
    save(pa, a)
    save(pb, b)
    pf = d / "f.tif"
    save(pf, a / 255.0)
    return d, a, b, str(pa), str(pb), str(pf)


def test_cli_compare_json(files, capsys):
    from imcorr.cli import main

    d, a, b, pa, pb, _ = files
    code = main(["compare", pa, pb, "--json", "--metrics", "ssim,psnr,mse",
                 "--ssim-map", str(d / "s.png"), "--diff", str(d / "d.png")])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["values"]["psnr"] == pytest.approx(peak_signal_noise_ratio(a, b))
    assert [m["name"] for m in out["metrics"]] == ["ssim", "psnr", "mse"]
    assert (d / "s.png").exists() and (d / "d.png").exists()
    assert out["identical"] is False


def test_cli_compare_table_and_errors(files, capsys):
    from imcorr.cli import main

    d, a, b, pa, pb, pf = files
    assert main(["compare", pa, pb, "--metrics", "ssim,nmi"]) == 0
    assert "ssim" in capsys.readouterr().out
    assert main(["compare", pa, pb, "--metrics", "bogus"]) == 2
    assert "bogus" in capsys.readouterr().err
    # float file: ssim skipped with a reason unless --data-range is given
    assert main(["compare", pf, pf, "--json", "--metrics", "ssim"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["values"]["ssim"] is None and "data_range" in out["metrics"][0]["reason"]
    assert main(["compare", pf, pf, "--json", "--metrics", "ssim", "--data-range", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["values"]["ssim"] == pytest.approx(1.0)
    assert main(["compare", pa, pb, "--data-range", "-1"]) == 2  # a bad option value is a usage error
    assert "--data-range" in capsys.readouterr().err


# ------------------------------------------------------------------------------ demo
def test_demo_section_runs_and_writes_figure(tmp_path):
    from rich.console import Console

    from imcorr.demo import make_context, similarity

    console = Console(record=True, width=120)
    ctx = make_context(tmp_path, console=console)
    similarity.run(ctx)
    text = console.export_text()
    assert "MS-SSIM" in text and "PSNR" in text
    assert (tmp_path / "similarity.png").exists()
    # undoing the known (integer part of the) shift must make the pair much more similar
    s0 = imcorr.ssim(ctx.reference, ctx.moving, data_range=255).ssim
    back = np.roll(ctx.moving, (-3, 6), axis=(0, 1))[8:-8, 8:-8]
    assert imcorr.ssim(ctx.reference[8:-8, 8:-8], back, data_range=255).ssim > s0 + 0.2


def test_compare_metric_registry_is_the_seam(camera):
    """A metric registered once is computed by compare() with its range and direction; names are unique."""
    from imcorr.similarity.compare import COMPARE_METRICS, register_metric

    a = camera[:64, :64]
    b = camera[1:65, :64]

    @register_metric("max_abs_diff", range=(0.0, 255.0), higher_is_better=False, mask_aware=False)
    def _max_abs(pair):
        return float(np.max(np.abs(pair.a.astype(np.int64) - pair.b))), None

    try:
        res = imcorr.compare(a, b, metrics=["max_abs_diff", "mse"])
        assert res["max_abs_diff"] == float(np.max(np.abs(a.astype(np.int64) - b)))  # closed form
        m = res.metrics[0]
        assert (m.name, m.range, m.higher_is_better) == ("max_abs_diff", (0.0, 255.0), False)
        with pytest.raises(imcorr.InputError, match="exists already"):
            register_metric("mse", range=(0.0, 1.0), higher_is_better=False, mask_aware=True)
    finally:
        del COMPARE_METRICS["max_abs_diff"]
    assert "max_abs_diff" not in imcorr.compare(a, b).as_dict()
