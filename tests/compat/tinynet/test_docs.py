"""Every class in tinynet's documentation (seed 000), built by its documented signature, by
position and by keyword, with its documented defaults, and run forward and backward."""

import inspect

import numpy as np
import pytest

from lamina.compat.tinynet import layers
from lamina.compat.tinynet.layers import (Conv2D, Deconv2D, Dropout, Flatten, Linear, MaxPool2D,
                                          ReLu, Softmax)

# The signatures as seed 000 prints them.
DOCUMENTED = {
    Conv2D: "(name, input_dim, n_filter, h_filter, w_filter, stride, padding)",
    Deconv2D: "(name, input_dim, n_filters, h_filter, w_filter, stride, dilation=1, padding=0)",
    Dropout: "(name, probability)",
    Flatten: "(name)",
    Linear: "(name, input_dim, output_dim)",
    MaxPool2D: "(name, input_dim, size, stride, return_index=False)",
    ReLu: "(name)",
    Softmax: "(name='softmax', axis=1, eps=1e-10)",
}


@pytest.mark.parametrize("cls", list(DOCUMENTED), ids=lambda cls: cls.__name__)
def test_signatures_are_the_documented_ones(cls):
    assert str(inspect.signature(cls)) == DOCUMENTED[cls]
    assert getattr(layers, cls.__name__) is cls
    assert callable(cls.forward) and callable(cls.backward)


BY_POSITION = [
    (lambda: Conv2D("conv", (2, 6, 6), 3, 3, 3, 1, 1), (4, 2, 6, 6), (4, 3, 6, 6)),
    (lambda: Deconv2D("deconv", (2, 3, 3), 3, 2, 2, 2), (4, 2, 3, 3), (4, 3, 6, 6)),
    (lambda: Deconv2D("deconv", (2, 3, 3), 3, 3, 3, 1, 1, 1), (4, 2, 3, 3), (4, 3, 3, 3)),
    (lambda: Dropout("drop", 0.5), (4, 7), (4, 7)),
    (lambda: Flatten("flat"), (4, 2, 3, 3), (4, 18)),
    (lambda: Linear("fc", 7, 5), (4, 7), (4, 5)),
    (lambda: MaxPool2D("pool", (2, 6, 6), (2, 2), 2), (4, 2, 6, 6), (4, 2, 3, 3)),
    (lambda: ReLu("relu"), (4, 7), (4, 7)),
    (lambda: Softmax(), (4, 7), (4, 7)),
]


@pytest.mark.parametrize("make, x_shape, out_shape", BY_POSITION,
                         ids=lambda v: getattr(v, "__name__", str(v)))
def test_forward_and_backward_by_position(make, x_shape, out_shape, rng):
    layer = make()
    out = layer.forward(rng.standard_normal(x_shape))
    assert out.shape == out_shape
    assert layer.backward(np.ones(out_shape)).shape == x_shape
    assert layer(rng.standard_normal(x_shape)).shape == out_shape


def test_by_keyword(rng):
    conv = Conv2D(name="c", input_dim=(1, 5, 5), n_filter=2, h_filter=3, w_filter=2, stride=1,
                  padding=0)
    deconv = Deconv2D(name="d", input_dim=(2, 3, 4), n_filters=1, h_filter=3, w_filter=2,
                      stride=1, dilation=2, padding=1)
    pool = MaxPool2D(name="p", input_dim=(2, 3, 4), size=(1, 2), stride=1, return_index=True)
    x = rng.standard_normal((2, 1, 5, 5))
    out = conv.forward(x)
    assert out.shape == (2, 2, 3, 4) == (2,) + conv.out_dim
    assert deconv.forward(out).shape == (2, 1, 5, 4) == (2,) + deconv.out_dim
    values, indices = pool.forward(out)
    assert values.shape == indices.shape == (2, 2, 3, 3)
    assert Linear(name="l", input_dim=3, output_dim=2).forward(np.ones((1, 3))).shape == (1, 2)
    assert Dropout(name="d", probability=1.0).forward(np.ones((1, 3))).tolist() == [[1, 1, 1]]
    assert Softmax(name="s", axis=0, eps=0.0).forward(np.zeros((2, 1))).tolist() == [[0.5], [0.5]]
