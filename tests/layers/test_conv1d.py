import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.errors import ConfigError, ShapeError
from lamina.gradcheck import check_layer, distinct_values


@pytest.mark.parametrize("layer, shape", [
    (lambda: L.Conv1D(None, 4, 3, stride=2, padding=1), (2, 3, 9)),
    (lambda: L.MaxPool1D(3, 2, 1), (2, 3, 9)),
    (lambda: L.AvgPool1D(2), (2, 3, 8)),
    (lambda: L.GlobalAvgPool1D(), (2, 3, 5)),
    (lambda: L.GlobalMaxPool1D(keepdims=True), (2, 3, 5)),
    (lambda: L.TimeDistributed(L.Linear(None, 2)), (2, 4, 3)),
    (lambda: L.Conv1D(3, 4, 4, stride=2, padding="same"), (2, 3, 9)),
    (lambda: L.Conv1D(4, 2, 3, stride=3, dilation=2, padding="same", groups=2,
                      padding_mode="reflect"), (2, 4, 10)),
    (lambda: L.Conv1D(3, 2, 2, padding=(0, 3), padding_mode="circular"), (2, 3, 5)),
    (lambda: L.Conv1D(3, 2, 3, padding="valid", padding_mode="replicate"), (2, 3, 6)),
    (lambda: L.MaxPool1D(3, 2, "same"), (2, 3, 8)),
    (lambda: L.AvgPool1D(4, 3, "same"), (2, 3, 10)),
    (lambda: L.AvgPool1D(3, 1, (1, 0), count_include_pad=False), (2, 3, 6)),
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


def test_same_keeps_its_word_and_gives_ceil_lengths(tmp_path):
    layer = L.Conv1D(3, 4, 4, stride=2, padding="same", padding_mode="replicate")
    assert layer.get_config()["padding"] == "same" and layer.padding_mode == "replicate"
    assert layer.output_shape((None, 3, 9)) == (None, 4, 5)
    assert L.Conv1D(3, 4, 3, padding=(2, 1)).get_config()["padding"] == [2, 1]
    model = lamina.Sequential([layer, L.MaxPool1D(2, padding="same"),
                               L.AvgPool1D(3, 2, "same")])
    x = distinct_values((2, 3, 9), 1)
    assert model.forward(x).shape == (2, 4, 2)
    model.save(tmp_path / "m.lamina")
    loaded = lamina.load_model(tmp_path / "m.lamina")
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_errors_name_the_layer():
    with pytest.raises(ShapeError, match=r"Conv1D 'conv1d' expects input with 3 dimensions"):
        L.Conv1D(3, 4, 3).forward(np.zeros((2, 3, 4, 4)))
    with pytest.raises(ShapeError, match=r"spatial size of at least 1x5"):
        L.Conv1D(3, 4, 5).forward(np.zeros((2, 3, 4)))
    with pytest.raises(ConfigError, match=r"^Conv1D expects padding as \"same\", \"valid\", an "
                       r"int or a \(left, right\) pair"):
        L.Conv1D(3, 4, 3, padding=((0, 1), (1, 0)))
    with pytest.raises(ConfigError, match=r"^MaxPool1D expects padding"):
        L.MaxPool1D(3, padding="full")
    with pytest.raises(ConfigError, match=r"^Conv1D expects padding_mode as one of"):
        L.Conv1D(3, 4, 3, padding_mode="edge")
    with pytest.raises(ShapeError, match=r"^Conv1D 'conv1d' expects padding_mode='reflect' "
                       r"padding smaller than the input"):
        L.Conv1D(3, 4, 5, padding="same", padding_mode="reflect").forward(np.zeros((2, 3, 2)))
