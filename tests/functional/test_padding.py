"""Padding kernels: zeros (negative widths crop) and the reflect, replicate and circular
modes: gradients, layout, dtype, purity and errors."""

import numpy as np
import pytest

from lamina.errors import ConfigError, ShapeError
from lamina.functional.padding import (pad2d_backward, pad2d_forward, zero_pad2d_backward,
                                       zero_pad2d_forward)
from tests.functional.kernel_properties import check, check_error_names_the_op

OPS = {
    "zero_pad": (zero_pad2d_forward, zero_pad2d_backward, (2, 3, 4, 5),
                 dict(padding=(1, 2, 0, 3))),
    **{f"pad_{mode}": (pad2d_forward, pad2d_backward, (2, 3, 4, 5),
                       dict(padding=(1, 2, 3, 0), mode=mode))
       for mode in ("zeros", "reflect", "replicate", "circular")},
}


@pytest.mark.parametrize("padding", [1, (2, 0, 1, 3), (0, 1, 0, 0), (-1, 2, 1, -2), 0], ids=str)
def test_zero_pad_gradcheck_and_layout(padding, rng):
    x = rng.standard_normal((2, 3, 4, 5))
    check(zero_pad2d_forward, zero_pad2d_backward, x, padding=padding)
    left, right, top, bottom = (padding,) * 4 if isinstance(padding, int) else padding
    out, _ = zero_pad2d_forward(x, padding)
    assert out.shape == (2, 3, 4 + top + bottom, 5 + left + right)
    expected = np.zeros((2, 3, 4 + 2 * 3, 5 + 2 * 3))  # a generous canvas, then cropped
    expected[:, :, 3:7, 3:8] = x
    np.testing.assert_array_equal(out, expected[:, :, 3 - top:7 + bottom, 3 - left:8 + right])


def reference_pad(x, padding, mode):
    """Each padded pixel's source, one at a time (tests only); zeros where there is none."""
    left, right, top, bottom = padding
    n, c, h, w = x.shape
    out = np.zeros((n, c, h + top + bottom, w + left + right))

    def source(index, size):
        if 0 <= index < size or mode == "zeros":
            return index if 0 <= index < size else None
        if mode == "replicate":
            return min(max(index, 0), size - 1)
        if mode == "circular":
            return index % size
        return -index if index < 0 else 2 * (size - 1) - index  # reflect

    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            row, col = source(i - top, h), source(j - left, w)
            if row is not None and col is not None:
                out[:, :, i, j] = x[:, :, row, col]
    return out


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding", [(1, 2, 3, 0), (0, 0, 0, 0), (4, 4, 1, 3), (2, 0, 0, 3)],
                         ids=str)
def test_mode_pad_layout_and_gradcheck(mode, padding, rng):
    x = rng.standard_normal((2, 3, 4, 5))  # every width fits reflect (< the size)
    out, _ = pad2d_forward(x, padding, mode)
    np.testing.assert_array_equal(out, reference_pad(x, padding, mode))
    check(pad2d_forward, pad2d_backward, x, padding=padding, mode=mode)


def test_mode_pad_hand_values():
    row = np.arange(4.0).reshape(1, 1, 1, 4)
    expected = {"reflect": [3, 2, 1, 0, 1, 2, 3, 2, 1], "replicate": [0, 0, 0, 0, 1, 2, 3, 3, 3],
                "circular": [1, 2, 3, 0, 1, 2, 3, 0, 1], "zeros": [0, 0, 0, 0, 1, 2, 3, 0, 0]}
    for mode, values in expected.items():
        out, cache = pad2d_forward(row, (3, 2, 0, 0), mode)
        np.testing.assert_array_equal(out[0, 0, 0], values)
    # replicate: the edge pixel's gradient sums its own and its three copies'
    dx = pad2d_backward(np.ones((1, 1, 1, 9)), pad2d_forward(row, (3, 2, 0, 0), "replicate")[1])
    np.testing.assert_array_equal(dx[0, 0, 0], [4, 1, 1, 3])


X = np.zeros((1, 2, 4, 4))


@pytest.mark.parametrize("call, error, fragment", [
    (lambda: zero_pad2d_forward(X, (1, 2)), ConfigError, r"padding=\(1, 2\)"),
    (lambda: zero_pad2d_forward(X, (0, 0, -2, -2)), ShapeError, "no output"),
    (lambda: pad2d_forward(X, (1, 0, 0, 0), "edge"), ConfigError,
     r"pad2d_forward expects padding_mode as one of 'zeros', 'reflect', 'replicate', "
     r"'circular'. Received: padding_mode='edge'"),
    (lambda: pad2d_forward(X, (0, -1, 0, 0), "zeros"), ConfigError,
     r"widths >= 0. Received: padding=\(0, -1, 0, 0\)"),
    (lambda: pad2d_forward(X, (0, 0, 4, 0), "reflect"), ShapeError,
     r"padding_mode='reflect' padding smaller than the input along each axis \(padding "
     r"\(\(4, 0\), \(0, 0\)\).*Received: x.shape=\(1, 2, 4, 4\)"),
    (lambda: pad2d_forward(X, (5, 0, 0, 0), "circular"), ShapeError,
     r"padding_mode='circular' padding at most the input"),
])
def test_errors_name_the_op_and_what_arrived(call, error, fragment):
    check_error_names_the_op(call, error, fragment)
