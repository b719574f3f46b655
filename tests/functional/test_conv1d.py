import numpy as np
import pytest

from lamina.errors import ConfigError, ShapeError
from lamina.functional.conv1d import (avg_pool1d_backward, avg_pool1d_forward, conv1d_backward,
                                      conv1d_forward, max_pool1d_backward, max_pool1d_forward)
from lamina.gradcheck import check_kernel, distinct_values


@pytest.mark.parametrize("stride, padding, dilation, groups", [
    (1, 0, 1, 1), (2, 1, 1, 1), (1, 2, 2, 2), (3, 1, 2, 2)])
def test_conv1d_gradcheck(rng, stride, padding, dilation, groups):
    x, w, b = rng.standard_normal((2, 4, 9)), rng.standard_normal((6, 4 // groups, 3)), \
        rng.standard_normal(6)
    check_kernel(conv1d_forward, conv1d_backward, [x, w, b],
                 dict(stride=stride, padding=padding, dilation=dilation, groups=groups))


@pytest.mark.parametrize("forward, backward", [(max_pool1d_forward, max_pool1d_backward),
                                               (avg_pool1d_forward, avg_pool1d_backward)])
@pytest.mark.parametrize("kernel, stride, padding", [(2, None, 0), (3, 2, 1), (3, 1, 1)])
def test_pool1d_gradcheck(forward, backward, kernel, stride, padding):
    check_kernel(forward, backward, [distinct_values((2, 3, 8), 0)],
                 dict(kernel_size=kernel, stride=stride, padding=padding))


def test_errors_name_the_1d_op():
    with pytest.raises(ShapeError, match=r"conv1d_forward expects x with 3 dimensions \(N, C, L\)"):
        conv1d_forward(np.zeros((2, 3, 4, 5)), np.zeros((2, 3, 3)), None)
    with pytest.raises(ConfigError, match="max_pool1d_forward expects kernel_size"):
        max_pool1d_forward(np.zeros((2, 3, 4)), (2, 2))
    with pytest.raises(ConfigError, match="half the kernel"):
        avg_pool1d_forward(np.zeros((2, 3, 4)), 2, padding=2)
