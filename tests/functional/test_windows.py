"""Window geometry helpers: flat phase-plane im2col/col2im, batch chunks, scratch buffers."""

import threading

import numpy as np
import pytest

from lamina.functional import windows as windows_module
from lamina.functional.windows import (batch_chunks, col2im, flat_windows, im2col, window_geometry,
                                        scratch)

# (x shape, kernel, stride, padding, dilation)
GEOMETRIES = [
    ((2, 3, 5, 6), (3, 3), (1, 1), (1, 1), (1, 1)),
    ((1, 2, 9, 7), (3, 2), (2, 3), (2, 1), (1, 1)),
    ((2, 1, 8, 8), (2, 3), (1, 2), (0, 3), (3, 2)),
    ((1, 2, 4, 11), (1, 4), (3, 1), (0, 2), (1, 2)),
    ((3, 2, 6, 5), (5, 5), (1, 1), (2, 2), (1, 1)),
]
IDS = [f"x{s}-k{k}-s{st}-p{p}-d{d}" for s, k, st, p, d in GEOMETRIES]


def windows_for(shape, kernel, stride, padding, dilation):
    out_hw = window_geometry("test", kernel, stride, padding, dilation).output_hw(shape[2:])
    return flat_windows(shape[2:], kernel, stride, padding, dilation, out_hw)


def reference_windows(x, kernel, stride, padding, dilation, out_hw):
    """(C, KH*KW, N, OH, OW) by pixel-level indexing of the zero-padded x (tests only)."""
    n, c, h, w = x.shape
    padded = np.zeros((n, c, h + 2 * padding[0], w + 2 * padding[1]))
    padded[:, :, padding[0]:padding[0] + h, padding[1]:padding[1] + w] = x
    rows = np.arange(out_hw[0])[:, None] * stride[0]
    cols = np.arange(out_hw[1])[None, :] * stride[1]
    taps = [padded[:, :, rows + kh * dilation[0], cols + kw * dilation[1]]
            for kh in range(kernel[0]) for kw in range(kernel[1])]
    return np.stack(taps).transpose(2, 0, 1, 3, 4)


def real_part(cols, windows):
    """The real (OH, OW) outputs of cols (C, K, N, OH*Wq), junk columns dropped."""
    (oh, ow), wq = windows.out_hw, windows.grid_hw[1]
    return cols.reshape(cols.shape[:3] + (oh, wq))[..., :ow]


@pytest.mark.parametrize("shape, kernel, stride, padding, dilation", GEOMETRIES, ids=IDS)
def test_im2col_real_columns_are_the_windows(shape, kernel, stride, padding, dilation, rng):
    x = rng.standard_normal(shape)
    windows = windows_for(shape, kernel, stride, padding, dilation)
    cols = np.full((shape[1], len(windows.taps), shape[0], windows.columns), np.nan)
    im2col(x, windows, cols)
    expected = reference_windows(x, kernel, stride, padding, dilation, windows.out_hw)
    np.testing.assert_array_equal(real_part(cols, windows), expected)
    assert np.isfinite(cols).all()  # junk columns hold real or padding values, never garbage


@pytest.mark.parametrize("shape, kernel, stride, padding, dilation", GEOMETRIES, ids=IDS)
def test_col2im_is_the_adjoint_of_im2col(shape, kernel, stride, padding, dilation, rng):
    x = rng.standard_normal(shape)
    windows = windows_for(shape, kernel, stride, padding, dilation)
    cols = np.empty((shape[1], len(windows.taps), shape[0], windows.columns))
    im2col(x, windows, cols)
    y = rng.standard_normal(cols.shape)
    junk = np.ones(y.shape, bool)
    real_part(junk, windows)[...] = False
    y[junk] = 0.0  # col2im's contract: junk columns are zero
    back = np.empty(shape)
    col2im(y, windows, back)
    np.testing.assert_allclose(np.sum(cols * y), np.sum(x * back), rtol=1e-12)


@pytest.mark.parametrize("n, per_item", [(64, 1), (64, 10**9), (7, 3 * 2**20), (1, 5)])
def test_batch_chunks_cover_the_batch_once(n, per_item):
    parts = batch_chunks(n, per_item)
    covered = np.concatenate([np.arange(n)[part] for part in parts])
    np.testing.assert_array_equal(covered, np.arange(n))
    assert all(part.stop > part.start for part in parts)
    assert len(parts) == -(-n // max(1, windows_module.CHUNK_BYTES // per_item))


def test_scratch_reuses_memory_per_name_dtype_and_thread():
    first = scratch("test-a", (4, 5), np.float32)
    again = scratch("test-a", (2, 3), np.float32)
    assert np.shares_memory(first, again)
    assert not np.shares_memory(first, scratch("test-b", (4, 5), np.float32))
    assert scratch("test-a", (4, 5), np.float64).dtype == np.float64
    grown = scratch("test-a", (100, 100), np.float32)  # larger: a new, bigger buffer
    assert grown.shape == (100, 100) and not np.shares_memory(first, grown)
    other = []
    thread = threading.Thread(target=lambda: other.append(scratch("test-a", (4, 5), np.float32)))
    thread.start()
    thread.join()
    assert not np.shares_memory(other[0], scratch("test-a", (4, 5), np.float32))


def test_scratch_does_not_keep_huge_buffers(monkeypatch):
    monkeypatch.setattr(windows_module, "SCRATCH_LIMIT", 64)
    big = scratch("test-huge", (5, 5), np.float32)  # 100 bytes > 64: a fresh array each time
    assert not np.shares_memory(big, scratch("test-huge", (5, 5), np.float32))
