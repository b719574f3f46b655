import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.errors import ConfigError
from lamina.functional.pool import avg_pool2d_forward
from lamina.gradcheck import check_layer, distinct_values


@pytest.mark.parametrize("cls", [L.MaxPool2D, L.AvgPool2D])
@pytest.mark.parametrize("kwargs, shape", [
    (dict(kernel_size=2), (2, 3, 6, 6)),
    (dict(kernel_size=3, stride=2, padding=1), (1, 2, 7, 5)),
    (dict(kernel_size=(3, 2), stride=1), (2, 2, 5, 4)),
    (dict(kernel_size=3, stride=2, padding="same"), (2, 2, 7, 6)),
    (dict(kernel_size=(4, 3), stride=3, padding="same"), (1, 2, 8, 7)),
    (dict(kernel_size=2, padding="valid"), (1, 2, 5, 5)),
    (dict(kernel_size=3, stride=1, padding=((0, 1), (1, 0))), (2, 1, 5, 4)),
])
def test_check_layer(cls, kwargs, shape):
    check_layer(cls(**kwargs), shape)


def test_same_sizes_config_and_model_file(tmp_path):
    layer = L.MaxPool2D(3, 2, "same")
    assert layer.get_config()["padding"] == "same"
    assert layer.output_shape((None, 3, 7, None)) == (None, 3, 4, None)
    model = lamina.Sequential([L.MaxPool2D(3, 2, "same"), L.AvgPool2D(2, padding="same"),
                               L.AvgPool2D(3, 1, "same", count_include_pad=True)])
    x = distinct_values((2, 3, 9, 7), 2)
    assert model.forward(x).shape == (2, 3, 3, 2)
    model.save(tmp_path / "m.lamina")
    loaded = lamina.load_model(tmp_path / "m.lamina")
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_avg_count_include_pad_follows_the_padding_unless_given(rng):
    x = rng.standard_normal((1, 2, 5, 5))
    for padding, given, include in [("same", None, False), (1, None, True), ("same", True, True),
                                    (1, False, False)]:
        layer = L.AvgPool2D(3, 2, padding, count_include_pad=given)
        np.testing.assert_array_equal(layer.forward(x), avg_pool2d_forward(
            x, 3, 2, padding, count_include_pad=include)[0])
        assert check_layer(layer, x.shape)
    with pytest.raises(ConfigError, match=r"^AvgPool2D expects count_include_pad as a bool"):
        L.AvgPool2D(2, count_include_pad="no")
    with pytest.raises(ConfigError, match=r"^MaxPool2D expects padding as \"same\""):
        L.MaxPool2D(2, padding="full")


def test_return_index_gives_pytorch_flat_indices():
    x = distinct_values((2, 3, 4, 4), 0)
    out, indices = L.MaxPool2D(2, return_index=True).forward(x)
    assert indices.shape == out.shape and indices.dtype == np.int64
    flat = x.reshape(2, 3, 16)
    np.testing.assert_array_equal(np.take_along_axis(flat, indices.reshape(2, 3, -1), 2), out.reshape(2, 3, -1))


def test_stride_defaults_to_kernel_and_alias():
    layer = L.MeanPool2D(2)
    assert L.MeanPool2D is L.AvgPool2D
    assert layer.stride == (2, 2) and layer.output_shape((None, 3, 8, 6)) == (None, 3, 4, 3)
    np.testing.assert_allclose(layer.forward(np.arange(16.0).reshape(1, 1, 4, 4)),
                               [[[[2.5, 4.5], [10.5, 12.5]]]])


def test_max_pool_in_eval_mode_still_has_a_backward():
    """Inference skips the argmax bookkeeping; a backward in eval mode (e.g. a saliency map)
    finds it then and routes the gradient exactly as in training."""
    x = distinct_values((2, 3, 6, 6), 1)
    dout = np.random.default_rng(0).standard_normal((2, 3, 3, 3))
    layer = L.MaxPool2D(2, return_index=True)
    out, indices = layer.forward(x)
    dx = layer.backward(dout)
    layer.eval()
    out_eval, indices_eval = layer.forward(x)
    np.testing.assert_array_equal(out_eval, out)
    np.testing.assert_array_equal(indices_eval, indices)
    np.testing.assert_array_equal(layer.backward(dout), dx)
