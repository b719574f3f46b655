import numpy as np
import pytest

from lamina import layers as L
from lamina.errors import ConfigError, LaminaError


@pytest.mark.parametrize("layer", [L.Linear(3, 2), L.Conv2D(1, 1, 1), L.ReLU(), L.Flatten(),
                                   L.BatchNorm1D(2), L.MaxPool2D(2), L.Softmax(), L.Dropout(0.1)])
def test_backward_before_forward_is_a_clear_error(layer):
    with pytest.raises(LaminaError, match=r"backward was called before forward"):
        layer.backward(np.ones((1, 2)))


@pytest.mark.parametrize("make, message", [
    (lambda: L.Linear(3, -1), r"Linear expects out_features as an int >= 1. Received: out_features=-1"),
    (lambda: L.Linear(3.5, 2), r"in_features as an int >= 1 or None \(inferred\). Received: in_features=3.5"),
    (lambda: L.Linear(0, 2), r"Received: in_features=0"),
    (lambda: L.Conv2D(3, None, 3), r"out_channels as an int >= 1. Received: out_channels=None"),
    (lambda: L.Conv2D(4, 4, 3, groups=0), r"groups as an int >= 1. Received: groups=0"),
    (lambda: L.BatchNorm2D(-1), r"num_features .*Received: num_features=-1"),
    (lambda: L.BatchNorm1D(4, momentum=None), r"momentum as a number in \[0, 1\]"),
    (lambda: L.Dropout("0.5"), r"Received: p='0.5'"),
    (lambda: L.ReLU(name=3), r"name as a string"),
])
def test_constructor_arguments_are_checked(make, message):
    with pytest.raises(ConfigError, match=message):
        make()


def test_layer_basics():
    layer = L.Linear(2, 3, name="fc")
    assert layer.describe() == "Linear 'fc'" and repr(layer).startswith("Linear(in_features=2")
    assert layer.count_params() == 9 and layer.train() is layer and layer.eval().training is False


def test_too_few_dimensions_is_a_clear_error():
    from lamina.errors import ShapeError

    with pytest.raises(ShapeError, match=r"BatchNorm1D 'batch_norm1d' expects input with 2 or 3 dimensions \(N, D\) or "
                                         r"\(N, C, L\). Received: x.shape=\(4,\)"):
        L.BatchNorm1D(3).forward(np.ones(4, np.float32))
