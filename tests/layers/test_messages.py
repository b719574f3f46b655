import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.errors import LaminaError, ShapeError
from lamina.layers.messages import naming_the_layer, shape_text


def test_shape_text_reads_as_an_array_shape_or_a_walked_shape():
    assert shape_text("x.shape", [2, 3]) == "x.shape=(2, 3)"
    assert shape_text("input shape", (None, 3)) == "input shape (None, 3)"


def test_describe_names_the_layer_and_its_place():
    assert L.ReLU(name="act").describe() == "ReLU 'act'"
    model = lamina.Sequential([L.Linear(2, 2), lamina.Sequential([L.Tanh()], name="inner")])
    assert model.layers[1].layers[0].describe() == "Tanh 'tanh' (layer 1.0)"


def test_shape_error_keeps_its_parts_for_a_model_build():
    layer = L.Linear(3, 2, name="fc")
    error = layer.shape_error("3 features on axis 1", "x.shape=(2, 4)", got="4 features",
                              fix="in_features=4", hint="Check the data")
    assert isinstance(error, ShapeError)
    assert str(error) == "Linear 'fc' expects 3 features on axis 1. Received: x.shape=(2, 4). " \
                         "Check the data."
    assert (error.layer, error.expected, error.got, error.fix, error.hint) == \
        (layer, "3 features on axis 1", "4 features", "in_features=4", "Check the data")


class Raising(L.Layer):
    """Raises whatever error it is given, as a kernel deep inside forward would."""

    def __init__(self, error, name=None):
        super().__init__(name)
        self.error = error

    def forward(self, x):
        raise self.error


def test_errors_from_forward_name_the_layer_once():
    layer = Raising(LaminaError("relu_forward expects x as an array"), name="r")
    with pytest.raises(LaminaError, match=r"^Raising 'r': relu_forward expects") as caught:
        layer.forward(np.ones((1, 2)))
    assert caught.value.layer is layer
    already = Raising(LaminaError("Raising 'r' expects more"), name="r")
    with pytest.raises(LaminaError, match=r"^Raising 'r' expects more$"):
        already.forward(np.ones((1, 2)))


def test_an_error_that_names_an_inner_layer_is_left_to_it():
    inner = Raising(ShapeError("conv2d_forward expects 4 dimensions"), name="inner")
    model = lamina.Sequential([L.ReLU(), inner])
    with pytest.raises(ShapeError, match=r"^Raising 'inner' \(layer 1\): conv2d_forward") \
            as caught:
        model.forward(np.ones((1, 2)))
    assert caught.value.layer is inner


def test_naming_the_layer_leaves_other_exceptions_alone():
    @naming_the_layer
    def forward(self, x):
        raise KeyError("not a lamina error")

    with pytest.raises(KeyError, match="not a lamina error") as caught:
        forward(L.ReLU(), None)
    assert not hasattr(caught.value, "layer")
