"""tinynet MaxPool2D and MaxUnpool2D: values and gradients against torch, tinynet's
window-local indices, the pool/unpool round trip, gradchecks, errors."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from numpy.lib.stride_tricks import sliding_window_view

from lamina.compat.tinynet.layers import MaxPool2D, MaxUnpool2D
from lamina.errors import ConfigError, ShapeError
from lamina.gradcheck import distinct_values
from tests.compat.harness import assert_gradients

# (input_dim, size, stride)
CASES = [((3, 8, 8), (2, 2), 2), ((2, 7, 9), (3, 2), 2), ((1, 6, 6), 3, 1), ((2, 5, 5), (2, 3), 3)]


def pair(size):
    return (size, size) if isinstance(size, int) else size


def window_argmax(x, size, stride):
    """tinynet's indices, by definition: argmax of each window flattened row-major."""
    kh, kw = pair(size)
    windows = sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    return windows.reshape(windows.shape[:4] + (kh * kw,)).argmax(axis=-1)


@pytest.mark.parametrize("input_dim, size, stride", CASES, ids=str)
def test_values_and_gradient_match_torch_and_indices_are_window_local(input_dim, size, stride,
                                                                      rng):
    layer = MaxPool2D("pool", input_dim, size, stride, return_index=True)
    x = distinct_values((2,) + input_dim, rng)
    out, indices = layer.forward(x)
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)
    tx = torch.tensor(x, requires_grad=True)
    expected, flat = TF.max_pool2d(tx, size, stride, return_indices=True)
    expected.backward(torch.tensor(dout))
    np.testing.assert_array_equal(out, expected.detach().numpy())
    np.testing.assert_allclose(dx, tx.grad.numpy())
    np.testing.assert_array_equal(indices, window_argmax(x, size, stride)[:, :, :out.shape[2],
                                                                          :out.shape[3]])
    kh, kw = pair(size)
    assert indices.dtype.kind == "i" and 0 <= indices.min() and indices.max() < kh * kw
    rows = np.arange(out.shape[2])[:, None] * stride + indices // kw
    cols = np.arange(out.shape[3])[None, :] * stride + indices % kw
    np.testing.assert_array_equal(rows * input_dim[2] + cols, flat.numpy())
    assert out.shape[1:] == layer.out_dim == (input_dim[0], layer.out_height, layer.out_width)


def test_without_return_index_forward_returns_the_output_only(rng):
    layer = MaxPool2D("pool", (1, 4, 4), (2, 2), 2)
    out = layer.forward(rng.standard_normal((3, 1, 4, 4)))
    assert isinstance(out, np.ndarray) and out.shape == (3, 1, 2, 2)
    assert layer.parameters == []


@pytest.mark.parametrize("input_dim, size, stride", [((2, 6, 6), (2, 2), 2),
                                                    ((1, 5, 9), (2, 3), 3)], ids=str)
def test_unpool_puts_each_maximum_back_where_it_was(input_dim, size, stride, rng):
    """tinynet's inverse nets: unpool(pool(x), indices) keeps each window's maximum in place."""
    pool = MaxPool2D("pool", input_dim, size, stride, return_index=True)
    x = distinct_values((2,) + input_dim, rng)
    out, indices = pool.forward(x)
    unpool = MaxUnpool2D("unpool", pool.out_dim, size, stride)
    restored = unpool.forward(out, indices.reshape(-1))  # any shape: tinynet reshapes
    assert restored.shape[1:] == unpool.out_dim == input_dim
    kept = restored != 0
    np.testing.assert_array_equal(restored[kept], x[kept])
    assert kept.sum() == out.size  # windows side by side: one maximum each
    _, flat = TF.max_pool2d(torch.tensor(x), size, stride, return_indices=True)
    expected = TF.max_unpool2d(torch.tensor(out), flat, size, stride,
                               output_size=input_dim[1:])
    np.testing.assert_array_equal(restored, expected.numpy())


def test_unpool_output_size_and_gradcheck(rng):
    assert MaxUnpool2D("unpool", (2, 3, 4), (3, 2), 2).out_dim == (2, 7, 8)  # (H - 1) s + h
    unpool = MaxUnpool2D("unpool", (2, 3, 4), (3, 2), (3, 2))  # windows side by side
    indices = rng.integers(0, 6, (2, 2, 3, 4))
    x = rng.standard_normal((2, 2, 3, 4))
    assert unpool.forward(x, indices).shape == (2, 2, 9, 8)
    assert_gradients(lambda a: unpool.forward(a, indices), unpool.backward, x)


def test_gradcheck(rng):
    layer = MaxPool2D("pool", (2, 5, 6), (2, 3), 1)
    assert_gradients(layer.forward, layer.backward, distinct_values((2, 2, 5, 6), rng))


def test_errors_name_the_tinynet_layer(rng):
    with pytest.raises(ConfigError, match=r"tinynet MaxPool2D 'p': input_dim=\(1, 2, 2\)"):
        MaxPool2D("p", (1, 2, 2), (3, 3), 1)
    with pytest.raises(ShapeError, match=r"tinynet MaxPool2D 'p' expects input of shape "
                                         r"\(N, 1, 4, 4\)"):
        MaxPool2D("p", (1, 4, 4), 2, 2).forward(rng.standard_normal((1, 4, 4)))
    unpool = MaxUnpool2D("u", (1, 2, 2), (2, 2), 2)
    x = rng.standard_normal((1, 1, 2, 2))
    for bad in (np.full((1, 1, 2, 2), 4), np.zeros(3, int), np.zeros((1, 1, 2, 2))):
        with pytest.raises(ShapeError, match=r"tinynet MaxUnpool2D 'u' expects max_indices as "
                                             r"4 ints in \[0, 4\)"):
            unpool.forward(x, bad)
