import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.errors import ConfigError, ShapeError
from lamina.gradcheck import check_layer


@pytest.mark.parametrize("layer", [
    lambda: L.RNN(3, 4, 2, nonlinearity="tanh", bidirectional=True),
    lambda: L.LSTM(3, 4, bidirectional=True, return_sequences=False),
    lambda: L.GRU(None, 4, 2, bias=False),
], ids=["rnn", "lstm", "gru"])
def test_gradcheck(layer):
    lamina.seed(0)
    check_layer(layer(), (2, 4, 3), mode="random")


def test_names_and_shapes_are_torch_s():
    layer = L.LSTM(3, 5, 2, bidirectional=True)
    shapes = {name: p.shape for name, p in layer.named_parameters()}
    assert shapes["weight_ih_l0"] == (20, 3) and shapes["weight_hh_l1_reverse"] == (20, 5)
    assert shapes["weight_ih_l1"] == (20, 10) and shapes["bias_hh_l0_reverse"] == (20,)
    assert len(shapes) == 16
    assert layer.output_shape((None, 7, 3)) == (None, 7, 10)


def test_dropout_between_layers_only_in_training():
    lamina.seed(0)
    layer = L.GRU(3, 4, 2, dropout=0.5)
    x = np.random.default_rng(0).standard_normal((2, 5, 3))
    layer.eval()
    first = layer.forward(x)
    np.testing.assert_array_equal(layer.forward(x), first)
    layer.train()
    assert not np.allclose(layer.forward(x), first)


def test_bad_inputs_are_named():
    layer = L.LSTM(3, 4)
    with pytest.raises(ShapeError, match=r"LSTM 'lstm' expects input with 3 dimensions "
                                         r"\(N, T, input_size\).*\(2, 5\)"):
        layer.forward(np.zeros((2, 5)))
    with pytest.raises(ShapeError, match=r"lengths\[0\]=6"):
        layer.forward(np.zeros((2, 5, 3)), lengths=np.array([6, 1]))
    with pytest.raises(ShapeError, match=r"lengths\[1\]=0"):
        layer.forward(np.zeros((2, 5, 3)), lengths=np.array([2, 0]))
    with pytest.raises(ShapeError, match=r"h0 of shape .*\(1, 2, 4\)"):
        layer.forward(np.zeros((2, 5, 3)), initial_state=(np.zeros((2, 2, 4)), np.zeros((1, 2, 4))))
    with pytest.raises(ShapeError, match="pair"):
        layer.forward(np.zeros((2, 5, 3)), initial_state=np.zeros((1, 2, 4)))
    with pytest.raises(ConfigError, match="nonlinearity"):
        L.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ConfigError, match="dropout"):
        L.GRU(3, 4, dropout=1.5)
