"""Max and average pooling kernels: gradients, indices, ties, dtype, purity and errors."""

import itertools

import numpy as np
import pytest

from lamina.errors import ConfigError, DTypeError, ShapeError
from lamina.functional.pool import (
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
    max_pool2d_indices,
)
import lamina
from lamina.functional.pieces import PARALLEL_BYTES, PIECE_BYTES
from lamina.gradcheck import check_kernel, distinct_values
from tests.functional.test_parallel import restore_threads  # noqa: F401 (a fixture)

# (x shape, kernel_size, stride, padding): odd sizes, non-square kernels, strides 1/2/3,
# padding, windows that overlap (stride < kernel) and windows with gaps (stride > kernel).
GEOMETRIES = [
    ((2, 3, 4, 4), 2, None, 0),
    ((2, 2, 5, 7), 2, None, 0),
    ((1, 2, 7, 6), (3, 2), (2, 1), (1, 1)),
    ((2, 1, 6, 5), 3, 1, 1),
    ((1, 2, 9, 8), (3, 3), 3, (1, 0)),
    ((2, 2, 7, 7), (2, 3), (3, 2), (1, 0)),
    ((1, 1, 4, 11), (1, 4), (1, 3), (0, 2)),
    ((1, 3, 7, 5), (3, 1), 2, 0),
    ((1, 1, 8, 8), 2, 3, 0),
    ((1, 2, 3, 3), 3, 1, 1),
]
IDS = [f"x{s}-k{k}-s{st}-p{p}" for s, k, st, p in GEOMETRIES]

# padding="same" (Keras: OH = ceil(H / sh), the odd pixel at the bottom/right) and per side
PADDED_GEOMETRIES = [
    ((2, 2, 7, 6), 3, 2, "same"),
    ((1, 2, 7, 5), 2, None, "same"),
    ((2, 1, 8, 9), (4, 3), 3, "same"),
    ((1, 2, 5, 4), 2, 1, "same"),
    ((1, 1, 5, 5), 1, 2, "same"),
    ((1, 2, 6, 7), 3, 2, "valid"),
    ((2, 1, 6, 7), (3, 2), 1, ((0, 1), (1, 0))),
    ((1, 2, 7, 7), 4, 3, ((2, 1), (0, 2))),
]
PADDED_IDS = [f"x{s}-k{k}-s{st}-p{p}" for s, k, st, p in PADDED_GEOMETRIES]


def reference_sides(padding, hw, kernel, stride):
    """((top, bottom), (left, right)) of any padding form; "same" by TensorFlow's formula."""
    if padding == "valid":
        return ((0, 0), (0, 0))
    if padding == "same":
        total = [max((-(-hw[i] // stride[i]) - 1) * stride[i] + kernel[i] - hw[i], 0)
                 for i in range(2)]
        return tuple((t // 2, t - t // 2) for t in total)
    padding = (padding,) * 2 if isinstance(padding, int) else padding
    return tuple(p if isinstance(p, tuple) else (p, p) for p in padding)


def reference_pool(x, kernel_size, stride, padding, reduce, count_include_pad=True):
    """Pixel-by-pixel loops (tests only): out and, for max, torch-style flat indices."""
    kh, kw = (kernel_size,) * 2 if isinstance(kernel_size, int) else kernel_size
    sh, sw = (kh, kw) if stride is None else ((stride,) * 2 if isinstance(stride, int) else stride)
    n, c, h, w = x.shape
    (top, bottom), (left, right) = reference_sides(padding, (h, w), (kh, kw), (sh, sw))
    oh, ow = (h + top + bottom - kh) // sh + 1, (w + left + right - kw) // sw + 1
    out, index = np.zeros((n, c, oh, ow)), np.zeros((n, c, oh, ow), np.int64)
    for b, ch, i, j in itertools.product(range(n), range(c), range(oh), range(ow)):
        cells = [(i * sh - top + di, j * sw - left + dj) for di in range(kh) for dj in range(kw)]
        real = [(r, q) for r, q in cells if 0 <= r < h and 0 <= q < w]
        if reduce == "avg":
            count = kh * kw if count_include_pad else len(real)
            out[b, ch, i, j] = sum(x[b, ch, r, q] for r, q in real) / count
        else:
            best = max(real, key=lambda cell: x[b, ch, cell[0], cell[1]])  # first of ties
            out[b, ch, i, j], index[b, ch, i, j] = x[b, ch, best[0], best[1]], best[0] * w + best[1]
    return out, index


@pytest.mark.parametrize("shape, kernel, stride, padding", GEOMETRIES, ids=IDS)
def test_max_pool_gradcheck(shape, kernel, stride, padding):
    x = distinct_values(shape, rng=0)
    assert check_kernel(max_pool2d_forward, max_pool2d_backward, [x],
                        dict(kernel_size=kernel, stride=stride, padding=padding))


@pytest.mark.parametrize("shape, kernel, stride, padding", GEOMETRIES, ids=IDS)
def test_avg_pool_gradcheck(shape, kernel, stride, padding, rng):
    x = rng.standard_normal(shape)
    assert check_kernel(avg_pool2d_forward, avg_pool2d_backward, [x],
                        dict(kernel_size=kernel, stride=stride, padding=padding))


@pytest.mark.parametrize("shape, kernel, stride, padding", GEOMETRIES, ids=IDS)
def test_forward_and_indices_match_loops(shape, kernel, stride, padding):
    x = distinct_values(shape, rng=1)
    out, cache = max_pool2d_forward(x, kernel, stride, padding)
    expected_out, expected_index = reference_pool(x, kernel, stride, padding, "max")
    np.testing.assert_array_equal(out, expected_out)
    indices = max_pool2d_indices(cache)
    assert indices.dtype == np.int64
    np.testing.assert_array_equal(indices, expected_index)
    out, _ = avg_pool2d_forward(x, kernel, stride, padding)
    np.testing.assert_allclose(out, reference_pool(x, kernel, stride, padding, "avg")[0],
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape, kernel, stride, padding", PADDED_GEOMETRIES, ids=PADDED_IDS)
def test_same_and_per_side_padding_match_loops_and_gradcheck(shape, kernel, stride, padding):
    x = distinct_values(shape, rng=2)
    hyper = dict(kernel_size=kernel, stride=stride, padding=padding)
    out, cache = max_pool2d_forward(x, **hyper)
    expected_out, expected_index = reference_pool(x, kernel, stride, padding, "max")
    np.testing.assert_array_equal(out, expected_out)
    np.testing.assert_array_equal(max_pool2d_indices(cache), expected_index)
    assert check_kernel(max_pool2d_forward, max_pool2d_backward, [x], hyper)
    for include in (True, False):
        out, _ = avg_pool2d_forward(x, **hyper, count_include_pad=include)
        np.testing.assert_allclose(out, reference_pool(x, kernel, stride, padding, "avg",
                                                       include)[0], rtol=1e-12, atol=1e-12)
        assert check_kernel(avg_pool2d_forward, avg_pool2d_backward, [x],
                            dict(hyper, count_include_pad=include))


def test_avg_count_include_pad_defaults_to_the_padding_origin(rng):
    """None: padding counts for numbers (PyTorch's default), not for "same" (Keras)."""
    x = rng.standard_normal((1, 2, 5, 6))
    for padding, include in ((1, True), ("same", False), (((0, 1), (1, 1)), True)):
        np.testing.assert_array_equal(
            avg_pool2d_forward(x, 3, 2, padding)[0],
            avg_pool2d_forward(x, 3, 2, padding, count_include_pad=include)[0])
    out, _ = avg_pool2d_forward(np.ones((1, 1, 3, 3)), 2, 2, "same")  # bottom/right padded
    np.testing.assert_array_equal(out[0, 0], np.ones((2, 2)))
    with pytest.raises(ConfigError, match=r"avg_pool2d_forward expects count_include_pad as a "
                       r"bool .*Received: count_include_pad=1"):
        avg_pool2d_forward(x, 3, 2, 1, count_include_pad=1)


def test_ties_route_gradient_to_first_element():
    x = np.array([[[[0.0, 5.0, 5.0],
                    [5.0, 5.0, 1.0],
                    [2.0, 2.0, 2.0]]]])
    out, cache = max_pool2d_forward(x, 2, stride=1)
    np.testing.assert_array_equal(max_pool2d_indices(cache)[0, 0], [[1, 1], [3, 4]])
    dx = max_pool2d_backward(np.array([[[[1.0, 10.0], [100.0, 1000.0]]]]), cache)
    np.testing.assert_array_equal(dx[0, 0], [[0, 11, 0], [100, 1000, 0], [0, 0, 0]])
    # Constant input, disjoint windows: every window's gradient lands on its top-left pixel.
    dx = max_pool2d_backward(np.ones((1, 1, 2, 2)), max_pool2d_forward(np.ones((1, 1, 4, 4)), 2)[1])
    np.testing.assert_array_equal(dx[0, 0], np.kron(np.ones((2, 2)), [[1, 0], [0, 0]]))


def test_nan_window_gives_nan_and_one_gradient_in_the_window():
    """As PyTorch, a window holding NaN pools to NaN; its gradient goes to one of its pixels."""
    x = np.arange(32.0).reshape(1, 2, 4, 4)
    x[0, 0, 0, 1] = x[0, 0, 3, 3] = x[0, 1, 2, 2] = np.nan
    for stride in (None, 1):
        out, cache = max_pool2d_forward(x, 2, stride)
        nan_window = np.zeros(out.shape, bool)
        for i, j in itertools.product(range(out.shape[2]), range(out.shape[3])):
            r, c = i * (stride or 2), j * (stride or 2)
            nan_window[:, :, i, j] = np.isnan(x[:, :, r:r + 2, c:c + 2]).any(axis=(2, 3))
        np.testing.assert_array_equal(np.isnan(out), nan_window)
        index = max_pool2d_indices(cache)
        rows, cols = np.divmod(index, 4)
        top = np.arange(out.shape[2])[:, None] * (stride or 2)
        left = np.arange(out.shape[3]) * (stride or 2)
        assert np.all((rows - top >= 0) & (rows - top < 2) & (cols - left >= 0)
                      & (cols - left < 2))
        dx = max_pool2d_backward(np.ones(out.shape), cache)
        assert dx.sum() == out.size


@pytest.mark.parametrize("forward, backward", [(max_pool2d_forward, max_pool2d_backward),
                                               (avg_pool2d_forward, avg_pool2d_backward)])
def test_empty_batch(forward, backward):
    out, cache = forward(np.zeros((0, 2, 4, 4), np.float32), 2)
    assert out.shape == (0, 2, 2, 2)
    assert backward(np.zeros(out.shape, np.float32), cache).shape == (0, 2, 4, 4)


def test_all_negative_infinity_window_points_at_first_real_pixel():
    x = np.full((1, 1, 4, 4), -np.inf)
    out, cache = max_pool2d_forward(x, 3, stride=2, padding=1)
    assert np.all(out == -np.inf)
    np.testing.assert_array_equal(max_pool2d_indices(cache)[0, 0], [[0, 1], [4, 5]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("stride", [None, 1])
def test_dtype_preserved(dtype, stride, rng):
    x = rng.standard_normal((2, 3, 6, 6)).astype(dtype)
    for forward, backward in [(max_pool2d_forward, max_pool2d_backward),
                              (avg_pool2d_forward, avg_pool2d_backward)]:
        out, cache = forward(x, 3, stride, 1)
        dx = backward(np.ones_like(out), cache)
        assert out.dtype == dtype and dx.dtype == dtype and dx.shape == x.shape


@pytest.mark.parametrize("stride", [None, 1])
def test_inputs_not_mutated(stride, rng):
    x = rng.standard_normal((2, 2, 5, 5))
    x_copy = x.copy()
    for forward, backward in [(max_pool2d_forward, max_pool2d_backward),
                              (avg_pool2d_forward, avg_pool2d_backward)]:
        out, cache = forward(x, 2, stride, 1)
        dout = rng.standard_normal(out.shape)
        dout_copy = dout.copy()
        backward(dout, cache)
        np.testing.assert_array_equal(x, x_copy)
        np.testing.assert_array_equal(dout, dout_copy)


def test_overlapping_windows_accumulate():
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 1.0  # the centre wins all four 2x2 windows
    dx = max_pool2d_backward(np.full((1, 1, 2, 2), 2.0), max_pool2d_forward(x, 2, 1)[1])
    assert dx[0, 0, 1, 1] == 8.0 and dx.sum() == 8.0
    dx = avg_pool2d_backward(np.ones((1, 1, 2, 2)), avg_pool2d_forward(x, 2, 1)[1])
    np.testing.assert_allclose(dx[0, 0], [[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]])


def test_avg_padding_counts_in_divisor():
    out, _ = avg_pool2d_forward(np.ones((1, 1, 2, 2)), 2, padding=1)
    np.testing.assert_allclose(out[0, 0], [[0.25, 0.25], [0.25, 0.25]])


@pytest.mark.parametrize("forward", [max_pool2d_forward, avg_pool2d_forward])
@pytest.mark.parametrize("x, kwargs, error, fragment", [
    (np.zeros((2, 4, 4)), {}, ShapeError, "4 dimensions"),
    (np.zeros((1, 1, 4, 4), np.int64), {}, DTypeError, "floating"),
    (np.zeros((1, 1, 3, 3)), {"kernel_size": 5}, ShapeError, "at least 5x5 for its window"),
    (np.zeros((1, 1, 8, 8)), {"kernel_size": 3, "padding": 2}, ConfigError, "half"),
    (np.zeros((1, 1, 8, 8)), {"kernel_size": (3, 2), "padding": (1, 2)}, ConfigError, "half"),
    (np.zeros((1, 1, 8, 8)), {"kernel_size": 0}, ConfigError, "kernel_size"),
    (np.zeros((1, 1, 8, 8)), {"kernel_size": 2, "stride": "2"}, ConfigError, "stride"),
    (np.zeros((1, 1, 8, 8)), {"kernel_size": 2, "padding": -1}, ConfigError, "padding"),
    (np.zeros((1, 1, 8, 8)), {"kernel_size": 2, "padding": "full"}, ConfigError,
     r"padding as \"same\", \"valid\".*Received: padding='full'"),
    (np.zeros((1, 1, 8, 8)), {"kernel_size": 3, "padding": ((0, 2), (0, 0))}, ConfigError,
     r"half.*Received: padding=\(\(0, 2\), \(0, 0\)\)"),
])
def test_errors(forward, x, kwargs, error, fragment):
    kwargs = {"kernel_size": 2, **kwargs}
    with pytest.raises(error, match=fragment) as info:
        forward(x, **kwargs)
    message = str(info.value)
    assert forward.__name__ in message and "Received" in message


@pytest.mark.parametrize("forward, backward", [(max_pool2d_forward, max_pool2d_backward),
                                               (avg_pool2d_forward, avg_pool2d_backward)])
def test_backward_rejects_wrong_dout_shape(forward, backward):
    out, cache = forward(np.zeros((1, 2, 4, 4)), 2)
    with pytest.raises(ShapeError, match=r"Received: dout.shape=\(1, 2, 2\)"):
        backward(np.zeros((1, 2, 2)), cache)


@pytest.mark.parametrize("shape, kernel, stride, padding", GEOMETRIES, ids=IDS)
def test_inference_forward_skips_bookkeeping_but_backward_still_works(shape, kernel, stride,
                                                                       padding):
    x = distinct_values(shape, rng=2)
    x[0, 0, 0, :2] = -np.inf  # windows of -inf must settle the same way in both modes
    out, cache = max_pool2d_forward(x, kernel, stride, padding)
    out_eval, cache_eval = max_pool2d_forward(x, kernel, stride, padding, train=False)
    np.testing.assert_array_equal(out_eval, out)
    np.testing.assert_array_equal(max_pool2d_indices(cache_eval), max_pool2d_indices(cache))
    dout = np.random.default_rng(3).standard_normal(out.shape)
    np.testing.assert_array_equal(max_pool2d_backward(dout, cache_eval),
                                  max_pool2d_backward(dout, cache))


def test_training_cache_is_one_byte_per_output():
    """Backward needs only each window's argmax position: uint8, not the input or int64."""
    x = np.random.default_rng(0).standard_normal((4, 3, 8, 8)).astype(np.float32)
    out, cache = max_pool2d_forward(x, 2)
    arrays = [item for item in cache if isinstance(item, np.ndarray)]
    assert sum(a.nbytes for a in arrays) == out.size


# Image shapes (the batch is made large enough for several pieces on several threads):
# tiled, overlapping and padded, gapped and padded per side, "same".
THREADED_GEOMETRIES = [
    ((16, 20, 22), 2, None, 0, np.float32),
    ((8, 33, 31), 3, 2, 1, np.float64),
    ((12, 25, 24), (3, 2), (3, 3), ((1, 0), (0, 1)), np.float32),
    ((8, 31, 30), 2, 3, "same", np.float32),
]


@pytest.mark.parametrize("image, kernel, stride, padding, dtype", THREADED_GEOMETRIES)
def test_pools_on_several_threads_equal_one_image_at_a_time_bit_for_bit(
        image, kernel, stride, padding, dtype, restore_threads):
    rng = np.random.default_rng(5)
    image_bytes = np.prod(image) * np.dtype(dtype).itemsize
    shape = (-(-max(PARALLEL_BYTES, 2 * PIECE_BYTES) // image_bytes) + 3,) + image
    x = rng.standard_normal(shape).astype(dtype)
    x[::7, :, ::5, ::3] = 1.0  # ties
    assert x.nbytes >= max(PARALLEL_BYTES, 2 * PIECE_BYTES)
    pools = [(lambda x: max_pool2d_forward(x, kernel, stride, padding), max_pool2d_backward),
             (lambda x: max_pool2d_forward(x, kernel, stride, padding, train=False),
              max_pool2d_backward),
             (lambda x: avg_pool2d_forward(x, kernel, stride, padding), avg_pool2d_backward),
             (lambda x: avg_pool2d_forward(x, kernel, stride, padding, count_include_pad=False),
              avg_pool2d_backward)]
    for forward, backward in pools:
        # one image at a time: each call is one piece on this thread
        alone = [forward(x[i:i + 1]) for i in range(shape[0])]
        out_alone = np.concatenate([out for out, _ in alone])
        dout = rng.standard_normal(out_alone.shape).astype(dtype)
        dx_alone = np.concatenate([backward(dout[i:i + 1], cache)
                                   for i, (_, cache) in enumerate(alone)])
        for threads in (1, 2, 3):
            lamina.set_num_threads(threads)
            out, cache = forward(x)
            dx = backward(dout, cache)
            assert out.dtype == dx.dtype == dtype
            assert np.array_equal(out, out_alone) and np.array_equal(dx, dx_alone)
            if backward is max_pool2d_backward:
                assert np.array_equal(max_pool2d_indices(cache),
                                      np.concatenate([max_pool2d_indices(c) for _, c in alone]))
