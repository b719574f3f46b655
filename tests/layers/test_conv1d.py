import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.errors import ShapeError
from lamina.gradcheck import check_layer, distinct_values


@pytest.mark.parametrize("layer, shape", [
    (lambda: L.Conv1D(None, 4, 3, stride=2, padding=1), (2, 3, 9)),
    (lambda: L.MaxPool1D(3, 2, 1), (2, 3, 9)),
    (lambda: L.AvgPool1D(2), (2, 3, 8)),
    (lambda: L.GlobalAvgPool1D(), (2, 3, 5)),
    (lambda: L.GlobalMaxPool1D(keepdims=True), (2, 3, 5)),
    (lambda: L.TimeDistributed(L.Linear(None, 2)), (2, 4, 3)),
])
def test_gradcheck(layer, shape):
    lamina.seed(0)
    check_layer(layer(), shape, x=distinct_values(shape, 0))


def test_time_distributed_maps_each_position_and_linear_still_flattens(rng):
    lamina.seed(0)
    layer = L.TimeDistributed(L.Linear(3, 2))
    x = rng.standard_normal((2, 4, 3))
    np.testing.assert_allclose(layer.forward(x), x @ layer.layer.weight.data, rtol=1e-6)
    assert L.Linear(None, 2).output_shape((None, 4, 3)) == (None, 2)
    assert [name for name, _ in layer.named_parameters()] == ["layer.weight", "layer.bias"]


def test_errors_name_the_layer():
    with pytest.raises(ShapeError, match=r"Conv1D 'conv1d' expects input with 3 dimensions"):
        L.Conv1D(3, 4, 3).forward(np.zeros((2, 3, 4, 4)))
    with pytest.raises(ShapeError, match=r"spatial size of at least 1x5"):
        L.Conv1D(3, 4, 5).forward(np.zeros((2, 3, 4)))
