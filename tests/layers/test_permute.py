import numpy as np
import pytest

from lamina import layers as L
from lamina.errors import ConfigError, ShapeError
from lamina.gradcheck import check_layer


def test_permute_moves_example_axes_and_back(rng):
    layer = L.Permute((3, 1, 2))
    x = rng.standard_normal((2, 3, 4, 5))
    np.testing.assert_array_equal(layer.forward(x), x.transpose(0, 3, 1, 2))
    assert layer.output_shape((None, 3, 4, 5)) == (None, 5, 3, 4)
    check_layer(L.Permute((2, 1)), (2, 3, 4))


def test_bad_dims_and_ranks():
    with pytest.raises(ConfigError, match="permutation of 1..k"):
        L.Permute((0, 1))
    with pytest.raises(ShapeError, match=r"Permute 'permute' expects input with 3 dimensions"):
        L.Permute((2, 1)).forward(np.zeros((2, 3)))
