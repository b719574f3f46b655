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


@pytest.mark.parametrize("stride, padding, dilation, groups, mode", [
    (1, "same", 1, 1, "zeros"), (2, "same", 1, 2, "zeros"), (3, "same", 2, 1, "reflect"),
    (1, (2, 0), 1, 2, "replicate"), (2, (0, 3), 1, 1, "circular"), (2, "valid", 1, 1, "zeros"),
    (1, "same", 2, 2, "circular")])
def test_conv1d_same_and_modes_gradcheck(rng, stride, padding, dilation, groups, mode):
    x, w, b = rng.standard_normal((2, 4, 9)), rng.standard_normal((6, 4 // groups, 4)), \
        rng.standard_normal(6)
    hyper = dict(stride=stride, padding=padding, dilation=dilation, groups=groups,
                 padding_mode=mode)
    assert check_kernel(conv1d_forward, conv1d_backward, [x, w, b], hyper)
    out, _ = conv1d_forward(x, w, b, **hyper)
    if padding == "same":
        assert out.shape[2] == -(-9 // stride)


@pytest.mark.parametrize("forward, backward", [(max_pool1d_forward, max_pool1d_backward),
                                               (avg_pool1d_forward, avg_pool1d_backward)])
@pytest.mark.parametrize("kernel, stride, padding", [(2, None, 0), (3, 2, 1), (3, 1, 1),
                                                     (2, None, "same"), (3, 2, "same"),
                                                     (4, 3, "same"), (3, 1, (0, 1))])
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
    with pytest.raises(ConfigError, match=r"conv1d_forward expects padding as \"same\", \"valid\", "
                       r"an int or a \(left, right\) pair of ints >= 0. Received: padding=-1"):
        conv1d_forward(np.zeros((2, 3, 4)), np.zeros((2, 3, 3)), None, padding=-1)
    with pytest.raises(ShapeError, match=r"conv1d_forward expects padding_mode='reflect' padding "
                       r"smaller than the input"):
        conv1d_forward(np.zeros((2, 3, 4)), np.zeros((2, 3, 3)), None, padding=4,
                       padding_mode="reflect")
