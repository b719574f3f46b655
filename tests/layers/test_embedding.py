import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.errors import DTypeError, LabelError, ShapeError
from lamina.gradcheck import check_layer


def test_padding_row_starts_at_zero_and_gets_no_gradient():
    layer = L.Embedding(5, 3, padding_idx=2)
    assert np.all(layer.weight.data[2] == 0)
    out = layer.forward(np.array([[2, 1, 2]]))
    assert layer.backward(np.ones_like(out)) is None
    np.testing.assert_array_equal(layer.weight.grad[2], 0)
    np.testing.assert_array_equal(layer.weight.grad[1], 1)


def test_bad_ids_name_the_id_and_the_size():
    layer = L.Embedding(5, 3)
    with pytest.raises(LabelError, match=r"Embedding 'embedding'.*\[0, 5\).*x\[0, 1\]=7"):
        layer.forward(np.array([[1, 7]]))
    with pytest.raises(LabelError, match=r"x\[0, 0\]=-1"):
        layer.forward(np.array([[-1, 0]]))
    with pytest.raises(DTypeError, match="integer array of token ids"):
        layer.forward(np.array([[1.0, 2.0]]))


def test_positional_embedding_gradcheck_and_length_check():
    lamina.seed(0)
    check_layer(L.PositionalEmbedding(6, 3), (2, 4, 3))
    with pytest.raises(ShapeError, match="max_length=6"):
        L.PositionalEmbedding(6, 3).forward(np.zeros((1, 7, 3)))


def test_fit_evaluate_predict_take_integer_tokens():
    lamina.seed(0)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 6, (64, 5))
    y = (x[:, -1] >= 3).astype(int)
    model = lamina.Sequential([L.Embedding(6, 4), L.GRU(4, 8, return_sequences=False),
                               L.Linear(8, 2)])
    assert model.takes_indices
    model.compile(loss="cross_entropy", optimizer=lamina.optim.Adam(lr=0.02),
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.evaluate(x, y)["accuracy"] > 0.9
    assert model.predict(x[:3]).shape == (3, 2)
    with pytest.raises(LabelError, match="ids"):
        model.predict(x + 6)
