"""WindowGeometry's sizes against torch: ConvTranspose2d and MaxUnpool2d output sizes."""

import pytest
import torch

from lamina.functional.unpool import unpool_output_hw
from lamina.functional.windows import window_geometry

# (input (H, W), kernel, stride, padding, dilation, output_padding)
TRANSPOSED = [
    ((5, 7), (3, 3), (1, 1), (0, 0), (1, 1), (0, 0)),
    ((4, 3), (3, 2), (2, 3), (1, 0), (1, 2), (1, 1)),
    ((6, 6), (5, 3), (3, 2), (2, 1), (2, 1), (2, 0)),
    ((1, 9), (2, 4), (2, 1), (0, 2), (3, 1), (0, 0)),
]


@pytest.mark.parametrize("hw, kernel, stride, padding, dilation, extra", TRANSPOSED)
def test_transposed_output_hw_matches_conv_transpose2d(hw, kernel, stride, padding, dilation,
                                                       extra):
    layer = torch.nn.ConvTranspose2d(1, 1, kernel, stride, padding, extra, dilation=dilation)
    expected = tuple(layer(torch.zeros(1, 1, *hw)).shape[2:])
    geometry = window_geometry("op", kernel, stride, padding, dilation)
    assert geometry.transposed_output_hw(hw, extra) == expected


@pytest.mark.parametrize("hw, kernel, stride, padding", [
    ((3, 4), (2, 2), (2, 2), (0, 0)), ((4, 5), (3, 2), (2, 1), (1, 1)),
])
def test_unpool_size_is_the_transposed_size_of_max_unpool2d(hw, kernel, stride, padding):
    unpool = torch.nn.MaxUnpool2d(kernel, stride, padding)
    indices = torch.zeros(1, 1, *hw, dtype=torch.int64)
    expected = tuple(unpool(torch.zeros(1, 1, *hw), indices).shape[2:])
    assert unpool_output_hw(hw, kernel, stride, padding) == expected
