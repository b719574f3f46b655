import numpy as np

from lamina import layers as L
from lamina.gradcheck import check_layer


def test_flatten():
    check_layer(L.Flatten(), (2, 3, 4, 5))
    layer = L.Flatten()
    assert layer.forward(np.ones((2, 3, 4), np.float32)).shape == (2, 12)
    assert layer.output_shape((None, 3, 4)) == (None, 12)
    assert layer.backward(np.ones((2, 12))).shape == (2, 3, 4)
