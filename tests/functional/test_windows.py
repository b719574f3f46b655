"""Window geometry: WindowGeometry (output sizes and their one error), flat phase-plane
im2col/col2im, batch chunks, scratch buffers."""

import threading

import numpy as np
import pytest

from lamina import layers as L
from lamina.errors import ConfigError, ShapeError
from lamina.functional import windows as windows_module
from lamina.functional.conv import conv2d_forward
from lamina.functional.pool import max_pool2d_forward
from lamina.functional.windows import (WindowGeometry, batch_chunks, col2im, flat_windows, im2col,
                                       pool_geometry, scratch, window_geometry)

# (x shape, kernel, stride, padding, dilation)
GEOMETRIES = [
    ((2, 3, 5, 6), (3, 3), (1, 1), (1, 1), (1, 1)),
    ((1, 2, 9, 7), (3, 2), (2, 3), (2, 1), (1, 1)),
    ((2, 1, 8, 8), (2, 3), (1, 2), (0, 3), (3, 2)),
    ((1, 2, 4, 11), (1, 4), (3, 1), (0, 2), (1, 2)),
    ((3, 2, 6, 5), (5, 5), (1, 1), (2, 2), (1, 1)),
    ((2, 2, 7, 6), (3, 2), (2, 2), ((0, 2), (1, 0)), (1, 1)),
    ((1, 3, 6, 7), (2, 3), (3, 1), ((2, 1), (0, 3)), (2, 1)),
]
IDS = [f"x{s}-k{k}-s{st}-p{p}-d{d}" for s, k, st, p, d in GEOMETRIES]


def windows_for(shape, kernel, stride, padding, dilation):
    out_hw = window_geometry("test", kernel, stride, padding, dilation).output_hw(shape[2:])
    return flat_windows(shape[2:], kernel, stride, padding, dilation, out_hw)


def reference_windows(x, kernel, stride, padding, dilation, out_hw):
    """(N, C, KH*KW, OH, OW) by pixel-level indexing of the zero-padded x (tests only)."""
    n, c, h, w = x.shape
    (top, bottom), (left, right) = (p if isinstance(p, tuple) else (p, p) for p in padding)
    padded = np.zeros((n, c, h + top + bottom, w + left + right))
    padded[:, :, top:top + h, left:left + w] = x
    rows = np.arange(out_hw[0])[:, None] * stride[0]
    cols = np.arange(out_hw[1])[None, :] * stride[1]
    taps = [padded[:, :, rows + kh * dilation[0], cols + kw * dilation[1]]
            for kh in range(kernel[0]) for kw in range(kernel[1])]
    return np.stack(taps).transpose(1, 2, 0, 3, 4)


def real_part(cols, windows):
    """The real (OH, OW) outputs of cols (N, C, K, OH*Wq), junk columns dropped."""
    (oh, ow), wq = windows.out_hw, windows.grid_hw[1]
    return cols.reshape(cols.shape[:3] + (oh, wq))[..., :ow]


@pytest.mark.parametrize("shape, kernel, stride, padding, dilation", GEOMETRIES, ids=IDS)
def test_im2col_real_columns_are_the_windows(shape, kernel, stride, padding, dilation, rng):
    x = rng.standard_normal(shape)
    windows = windows_for(shape, kernel, stride, padding, dilation)
    cols = np.full((shape[0], shape[1], len(windows.taps), windows.columns), np.nan)
    im2col(x, windows, cols)
    expected = reference_windows(x, kernel, stride, padding, dilation, windows.out_hw)
    np.testing.assert_array_equal(real_part(cols, windows), expected)
    assert np.isfinite(cols).all()  # junk columns hold real or padding values, never garbage


@pytest.mark.parametrize("shape, kernel, stride, padding, dilation", GEOMETRIES, ids=IDS)
def test_col2im_is_the_adjoint_of_im2col(shape, kernel, stride, padding, dilation, rng):
    x = rng.standard_normal(shape)
    windows = windows_for(shape, kernel, stride, padding, dilation)
    cols = np.empty((shape[0], shape[1], len(windows.taps), windows.columns))
    im2col(x, windows, cols)
    y = rng.standard_normal(cols.shape)
    junk = np.ones(y.shape, bool)
    real_part(junk, windows)[...] = False
    y[junk] = 0.0  # col2im's contract: junk columns are zero
    back = np.empty(shape)
    col2im(y, windows, back)
    np.testing.assert_allclose(np.sum(cols * y), np.sum(x * back), rtol=1e-12)


@pytest.mark.parametrize("n, per_item", [(64, 1), (64, 10**9), (7, 3 * 2**20), (1, 5),
                                         (10, 3 * 2**19), (64, 1253376)])
def test_batch_chunks_cover_the_batch_once(n, per_item):
    parts = batch_chunks(n, per_item)
    covered = np.concatenate([np.arange(n)[part] for part in parts])
    np.testing.assert_array_equal(covered, np.arange(n))
    sizes = [part.stop - part.start for part in parts]
    assert min(sizes) >= 1 and max(sizes) - min(sizes) <= 1  # even shares
    fewest = -(-n // max(1, windows_module.CHUNK_BYTES // per_item))
    assert len(parts) == (fewest if fewest == 1 else min(n, fewest + fewest % 2))  # even count


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


# -- WindowGeometry: the one home of window output sizes and their error -----------------------


def error_text(call):
    with pytest.raises(ShapeError) as caught:
        call()
    return str(caught.value)


def test_output_hw_is_the_window_formula_and_passes_none_through():
    geometry = window_geometry("op", (3, 2), (2, 1), (1, 0), (2, 3))
    assert geometry.output_hw((9, None)) == ((9 + 2 - 4 - 1) // 2 + 1, None)
    assert geometry.output_hw((5, 4)) == (2, 1)


@pytest.mark.parametrize("size, kernel, stride, dilation, expected", [
    (7, 3, 1, 1, (1, 1)), (6, 4, 1, 1, (1, 2)), (7, 3, 2, 1, (1, 1)), (6, 3, 2, 1, (0, 1)),
    (8, 4, 3, 1, (1, 1)), (7, 3, 1, 2, (2, 2)), (5, 1, 2, 1, (0, 0)), (4, 2, 3, 1, (0, 1)),
    (5, 2, 4, 1, (0, 1)), (6, 1, 4, 1, (0, 0)), (None, 3, 2, 1, None),
])
def test_same_sides_is_tensorflows_rule(size, kernel, stride, dilation, expected):
    """total = max((ceil(L/s) - 1)*s + d*(K-1) + 1 - L, 0), the odd pixel after."""
    assert windows_module.same_sides(size, kernel, stride, dilation) == expected


def test_same_output_is_ceil_of_size_over_stride_for_every_geometry():
    for size, kernel, stride, dilation in np.ndindex(12, 6, 5, 3):
        size, kernel, stride, dilation = size + 1, kernel + 1, stride + 1, dilation + 1
        geometry = window_geometry("op", kernel, stride, "same", dilation)
        assert geometry.output_hw((size, size)) == (-(-size // stride),) * 2


@pytest.mark.parametrize("padding, held", [
    ("same", "same"), ("valid", (0, 0)), (2, (2, 2)), ([1, 0], (1, 0)),
    (((1, 1), (2, 2)), (1, 2)), (((0, 1), [2, 2]), ((0, 1), (2, 2))),
])
def test_padding_forms_and_how_a_geometry_holds_them(padding, held):
    assert window_geometry("op", 3, 1, padding).padding == held


@pytest.mark.parametrize("padding", ["SAME", "full", 1.0, (1, 2, 3), ((1, 2), (3,)),
                                     ((1, -1), (0, 0)), ((1, 2), 3)], ids=str)
def test_padding_errors_list_the_forms(padding):
    with pytest.raises(ConfigError, match=r"Conv2D expects padding (as \"same\", \"valid\", an "
                       r"int, a pair of ints or \(\(top, bottom\), \(left, right\)\)|>= 0)"):
        L.Conv2D(1, 1, 3, padding=padding)


def test_transposed_same_is_the_input_times_the_stride():
    for kernel, stride, dilation in np.ndindex(5, 4, 3):
        geometry = window_geometry("op", kernel + 1, stride + 1, "same", dilation + 1)
        assert geometry.transposed_output_hw((5, None)) == (5 * (stride + 1), None)


def test_same_is_refused_where_it_means_nothing():
    for call, op in [(lambda: L.MaxUnpool2D(2, padding="same"), "MaxUnpool2D"),
                     (lambda: windows_module.check_not_same("same", "op", "a test"), "op")]:
        with pytest.raises(ConfigError, match=rf"^{op} expects padding as numbers: .* has no "
                           r"padding \"same\". Received: padding='same'"):
            call()


def test_layer_and_kernel_give_one_message_for_a_too_small_input():
    x = np.zeros((2, 3, 4, 4))
    layer_text = error_text(lambda: L.Conv2D(3, 6, 5, padding=(0, 1), name="conv").forward(x))
    kernel_text = error_text(lambda: conv2d_forward(x, np.zeros((6, 3, 5, 5)), None,
                                                    padding=(0, 1)))
    body = ("expects a spatial size of at least 5x3 for its window (kernel (5, 5), dilation "
            "(1, 1), padding (0, 1)). Received: x.shape=(2, 3, 4, 4)")
    assert layer_text == "Conv2D 'conv' " + body
    assert kernel_text == "conv2d_forward " + body + ", w.shape=(6, 3, 5, 5)"
    pool_layer = error_text(lambda: L.MaxPool2D(5, name="pool").forward(x))
    pool_kernel = error_text(lambda: max_pool2d_forward(x, 5))
    assert pool_layer.split(" expects ", 1)[1] == pool_kernel.split(" expects ", 1)[1]
    assert pool_kernel.startswith("max_pool2d_forward expects a spatial size of at least 5x5")


def test_numpy_ints_are_accepted_and_bools_refused():
    geometry = window_geometry("op", np.int64(3), np.int32(2), np.int8(1), np.int16(2))
    assert geometry == WindowGeometry((3, 3), (2, 2), (1, 1), (2, 2))
    assert all(type(v) is int for pair_ in geometry for v in pair_)
    with pytest.raises(ConfigError, match="stride"):
        window_geometry("op", 3, True)
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 4, 5, 5)), rng.standard_normal((6, 2, 3, 3))
    expected = conv2d_forward(x, w, None, groups=2)[0]
    np.testing.assert_array_equal(conv2d_forward(x, w, None, np.int64(1), np.int64(1),
                                                 groups=np.int64(2))[0][..., 1:-1, 1:-1],
                                  expected)
    with pytest.raises(ConfigError, match="groups"):
        conv2d_forward(x, w, None, groups=True)


def test_pooling_padding_rule_is_checked_once_with_one_message():
    message = r"expects padding at most half the kernel size. Received: padding=\(2, 1\), "
    with pytest.raises(ConfigError, match="max_pool2d_forward " + message):
        pool_geometry("max_pool2d_forward", (3, 2), padding=(2, 1))
    with pytest.raises(ConfigError, match="max_pool2d_forward " + message):
        max_pool2d_forward(np.zeros((1, 1, 8, 8)), (3, 2), padding=(2, 1))
    with pytest.raises(ConfigError, match="MaxPool2D " + message):
        L.MaxPool2D((3, 2), padding=(2, 1))
    assert pool_geometry("op", 3, padding=1) == WindowGeometry((3, 3), (3, 3), (1, 1))
    assert pool_geometry("op", 3, padding=((0, 1), (1, 0))).padding == ((0, 1), (1, 0))
    assert pool_geometry("op", 2, 1, "same").padding == "same"  # within half the kernel always


def test_a_layer_geometry_passed_to_the_kernel_matches_raw_values():
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 2))
    geometry = window_geometry("op", (3, 2), 2, 1, (1, 2))
    np.testing.assert_array_equal(conv2d_forward(x, w, None, geometry=geometry)[0],
                                  conv2d_forward(x, w, None, 2, 1, (1, 2))[0])
    with pytest.raises(ShapeError, match="kernel"):
        conv2d_forward(x, w[:, :, :2], None, geometry=geometry)
