"""Zero padding kernels: gradients, layout (negative widths crop), dtype, purity and errors."""

import numpy as np
import pytest

from lamina.errors import ConfigError, ShapeError
from lamina.functional.padding import zero_pad2d_backward, zero_pad2d_forward
from tests.functional.kernel_properties import check, check_error_names_the_op

OPS = {
    "zero_pad": (zero_pad2d_forward, zero_pad2d_backward, (2, 3, 4, 5),
                 dict(padding=(1, 2, 0, 3))),
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


X = np.zeros((1, 2, 4, 4))


@pytest.mark.parametrize("call, error, fragment", [
    (lambda: zero_pad2d_forward(X, (1, 2)), ConfigError, r"padding=\(1, 2\)"),
    (lambda: zero_pad2d_forward(X, (0, 0, -2, -2)), ShapeError, "no output"),
])
def test_errors_name_the_op_and_what_arrived(call, error, fragment):
    check_error_names_the_op(call, error, fragment)
