"""Frame stacks registered in forked processes (imcorr.register.forked) equal the thread path."""

from __future__ import annotations

import os

import numpy as np
import pytest
from scipy import ndimage

import imcorr
from imcorr.errors import ImcorrError, InputError
from imcorr.register import forked, stack, translation

pytestmark = pytest.mark.skipif(not forked.fork_available(), reason="needs os.fork")

FIELDS = ("shift", "peak", "peak_to_sidelobe", "uncertainty", "refined", "reliable", "overlap", "inverted",
          "significance")


@pytest.fixture(scope="module")
def frames():
    from skimage import data

    img = data.camera()[100:260, 140:300].astype(np.float64)
    rng = np.random.default_rng(5)
    truth = rng.uniform(-6, 6, (20, 2))
    big = np.pad(img, 16, mode="reflect")
    moved = np.stack([ndimage.shift(big, s, order=3, mode="reflect")[16:-16, 16:-16] for s in truth])
    return img, moved.astype(np.float32), truth


def _same(a, b):
    for f in FIELDS:
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)
    assert a.reasons == b.reasons and a.n_reliable == b.n_reliable and a.n_refined == b.n_refined


@pytest.mark.parametrize("workers", [2, 3])
def test_processes_equal_threads_and_follow_the_truth(frames, workers):
    ref, stk, truth = frames
    seen = []
    on_procs = imcorr.estimate_shifts(ref, stk, workers=workers, processes=True, progress=seen.append)
    on_threads = imcorr.estimate_shifts(ref, stk, workers=workers, processes=False)
    _same(on_procs, on_threads)
    assert seen == list(range(1, len(stk) + 1))  # progress in frame order
    np.testing.assert_allclose(on_procs.shift, truth, atol=0.05)  # cubic-spline shifts: ~0.02 px model error


def test_memmap_stack(frames, tmp_path):
    ref, stk, _ = frames
    mm = np.memmap(tmp_path / "stack.f32", dtype=np.float32, mode="w+", shape=stk.shape)
    mm[:] = stk
    mm.flush()
    _same(imcorr.estimate_shifts(ref, mm, workers=2, processes=True),
          imcorr.estimate_shifts(ref, stk, workers=1))


def test_a_child_error_is_raised_in_the_parent(frames):
    ref, stk, _ = frames
    bad = stk.copy()
    bad[13, 5, 5] = np.nan
    with pytest.raises(InputError, match="moving: contains NaN"):
        imcorr.estimate_shifts(ref, bad, workers=2, processes=True)


def test_a_child_that_dies_is_reported(frames, monkeypatch):
    ref, stk, _ = frames
    marked = stk.copy()
    marked[7, 0, 0] = -12345.0
    real = translation.Registrar.estimate

    def dies_on_the_marked_frame(self, frame, **kw):
        if frame[0, 0] == -12345.0:
            os._exit(3)
        return real(self, frame, **kw)

    monkeypatch.setattr(translation.Registrar, "estimate", dies_on_the_marked_frame)
    with pytest.raises(ImcorrError, match="exit code 3"):
        imcorr.estimate_shifts(ref, marked, workers=2, processes=True)


def test_choice_of_processes(frames):
    ref, stk, _ = frames
    assert stack._use_processes(None, stk, 2)
    assert not stack._use_processes(None, stk, 1)  # one worker: no fork
    assert not stack._use_processes(None, stk[:7], 2)  # fewer than 4 frames per worker
    assert not stack._use_processes(None, None, 2)  # an iterable: threads
    assert not stack._use_processes(False, stk, 2)
    with pytest.raises(InputError, match="processes=True needs the frames as one array"):
        imcorr.estimate_shifts(ref, (f for f in stk), processes=True)
    with pytest.raises(InputError, match="processes"):
        imcorr.estimate_shifts(ref, stk, processes="yes")


def test_chunk_size():
    assert forked.chunk_size(1000, 2) == forked.MAX_CHUNK
    assert forked.chunk_size(40, 2) == 2  # about 8 chunks per worker
    assert forked.chunk_size(3, 2) == 1
