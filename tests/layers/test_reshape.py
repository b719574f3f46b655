import numpy as np
import pytest

from lamina import layers as L
from lamina.errors import ConfigError, ShapeError
from lamina.gradcheck import check_layer
from lamina.layers.container import deserialize, serialize


def test_flatten():
    check_layer(L.Flatten(), (2, 3, 4, 5))
    layer = L.Flatten()
    assert layer.forward(np.ones((2, 3, 4), np.float32)).shape == (2, 12)
    assert layer.output_shape((None, 3, 4)) == (None, 12)
    assert layer.backward(np.ones((2, 12))).shape == (2, 3, 4)


@pytest.mark.parametrize("target, shape, expected", [
    ((5, -1), (2, 3, 4, 5), (2, 5, 12)),
    ((60,), (2, 3, 4, 5), (2, 60)),
    ((2, 3, 2), (3, 12), (3, 2, 3, 2)),
    ([-1, 1, 1], (4, 6), (4, 6, 1, 1)),
], ids=str)
def test_reshape(target, shape, expected):
    assert check_layer(L.Reshape(target), shape)
    layer = L.Reshape(target)
    x = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    out = layer.forward(x)
    assert out.shape == expected and out.dtype == np.float32
    np.testing.assert_array_equal(out.ravel(), x.ravel())  # the batch axis stays first
    assert layer.output_shape(shape) == expected
    assert layer.backward(np.ones(expected)).shape == shape
    assert deserialize(serialize(layer)).target_shape == tuple(target)


def test_reshape_unknown_sizes_and_config():
    layer = L.Reshape((4, -1), name="r")
    assert layer.output_shape((None, 2, 8)) == (None, 4, 4)
    assert layer.output_shape((None, None, 8)) == (None, 4, None)
    assert layer.get_config() == {"target_shape": [4, -1], "name": "r"}


def test_reshape_errors_name_both_shapes():
    with pytest.raises(ShapeError, match=r"Reshape 'r' cannot reshape examples of shape \(3, 4\) "
                                         r"\(12 values\) to target_shape \(5, 2\). "
                                         r"Received: input shape \(2, 3, 4\)"):
        L.Reshape((5, 2), name="r").forward(np.ones((2, 3, 4)))
    with pytest.raises(ShapeError, match=r"cannot reshape examples of shape \(7,\) .*\(2, -1\)"):
        L.Reshape((2, -1)).output_shape((None, 7))
    layer = L.Reshape((6,), name="r")
    layer.forward(np.ones((2, 3, 2)))
    with pytest.raises(ShapeError, match=r"Reshape 'r' .*Received: dout.shape=\(2, 3, 2\)"):
        layer.backward(np.ones((2, 3, 2)))


@pytest.mark.parametrize("target", [(2, -1, -1), (0, 3), 6, (2.0, 3), (-2, 3), None], ids=str)
def test_reshape_bad_target(target):
    with pytest.raises(ConfigError, match=r"Reshape expects target_shape .*Received: "):
        L.Reshape(target)
