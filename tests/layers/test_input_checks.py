import numpy as np
import pytest

from lamina import layers as L
from lamina.errors import ConfigError, DTypeError, ShapeError
from lamina.layers.input_checks import (CHANNELS_LAST_HINT, channels_last_1d_hint,
                                        looks_channels_last)


@pytest.mark.parametrize("shape, channels_last", [
    ((8, 28, 28, 1), True), ((None, 32, 32, 3), True), ((2, 64, 48, 4), True),
    ((8, 1, 28, 28), False),   # channels first
    ((8, 64, 4, 4), False),    # a square feature map
    ((8, 4, 28, 1), False),    # axis 1 could be channels itself
    ((8, 28, 28, 5), False),   # 5 is no image's channel count
    ((8, 28, None, 1), False), ((8, 28, 1), False)])
def test_looks_channels_last(shape, channels_last):
    assert looks_channels_last(shape) is channels_last


def test_the_1d_hint_is_for_a_last_axis_that_holds_the_channels():
    hint = channels_last_1d_hint((2, 50, 16), 16)
    assert "x.transpose(0, 2, 1)" in hint and hint.endswith("set {argument}=50")
    for shape, size in [((2, 16, 50), 16), ((2, 16, 16), 16), ((2, 50, 12), 16),
                        ((2, None, 16), 16), ((2, 50, 16), None), ((2, 5, 5, 16), 16)]:
        assert channels_last_1d_hint(shape, size) is None


def test_check_input_converts_lists_and_keeps_float_arrays():
    layer = L.ReLU()
    x = np.ones((2, 3), np.float32)
    assert layer.check_input(x) is x
    assert layer.check_input([[1.0, 2.0]]).dtype == np.float64
    with pytest.raises(DTypeError, match=r"ReLU 're_lu' expects x as a floating NumPy array "
                                         r"\(float32 or float64; convert with "
                                         r"x.astype\(np.float32\)\). Received: x.dtype=int64"):
        layer.check_input(np.ones((2, 3), np.int64))
    with pytest.raises(ShapeError, match=r"expects a non-empty batch .* Received: "
                                         r"x.shape=\(0, 3\)"):
        layer.check_input(np.ones((0, 3), np.float32))


def test_check_shape_names_rank_and_size_with_the_fix():
    layer = L.Linear(3, 2, name="fc")
    with pytest.raises(ShapeError, match=r"^Linear 'fc' expects input with 2 dimensions \(N, D\)\. "
                                         r"Received: x.shape=\(3,\)$"):
        layer.check_shape((3,), rank=2, layout="(N, D)", name="x.shape")
    with pytest.raises(ShapeError) as caught:
        layer.check_shape((None, 4), dim=1, size=3)
    assert str(caught.value) == "Linear 'fc' expects 3 features on axis 1. " \
                                "Received: input shape (None, 4)"
    assert caught.value.got == "4 features" and caught.value.fix == "in_features=4, or None " \
                                                                    "to infer it"
    layer.check_shape((None, 3), rank=(2, 3), dim=1, size=3)  # fits: no error


def test_a_lazy_layer_infers_channels_only_from_a_channel_first_shape():
    assert L.Conv2D(None, 4, 3).inferred_channels((None, 3, 8, 8)) == 3
    with pytest.raises(ShapeError) as caught:
        L.Conv2D(None, 4, 3).inferred_channels((None, 28, 28, 1))
    assert caught.value.hint == CHANNELS_LAST_HINT
    assert "to infer in_channels" in str(caught.value)


def test_check_kernel_given_explains_keras_argument_order():
    layer = L.ReLU()
    assert layer.check_kernel_given(3, dict(in_channels=1, out_channels=2)) == 3
    with pytest.raises(ConfigError, match=r"^ReLU expects kernel_size after in_channels and "
                                          r"out_channels, in PyTorch's order \(in_channels, "
                                          r"out_channels, kernel_size, \.\.\.; in_channels=None "
                                          r"infers the input's\): Keras' order \(filters=32, "
                                          r"kernel_size=3\) is ReLU\(None, 32, 3\) here\. "
                                          r"Received: ReLU\(32, 3\)$"):
        layer.check_kernel_given(None, dict(in_channels=32, out_channels=3))
