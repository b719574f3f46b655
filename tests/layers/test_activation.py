import numpy as np
import pytest

from lamina import layers as L
from lamina.gradcheck import check_layer


@pytest.mark.parametrize("layer", [L.ReLU(), L.Sigmoid(), L.Tanh(), L.Softmax(), L.Softmax(axis=-1)])
@pytest.mark.parametrize("shape", [(3, 5), (2, 3, 4, 4)])
def test_check_layer(layer, shape):
    check_layer(layer, shape)


def test_softmax_rows_sum_to_one_and_config():
    y = L.Softmax()(np.array([[1.0, 2.0, 3.0]], np.float32))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.sum(), 1.0, rtol=1e-6)
    assert L.Softmax(axis=-1).get_config() == {"axis": -1, "name": "softmax"}
