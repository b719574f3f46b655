"""slugnet.regularizers.L2Regularization: lamina's L2 penalty on a Dense's weight."""

import numpy as np
import pytest

import lamina
from lamina.compat.slugnet.activation import Softmax
from lamina.compat.slugnet.layers import Dense
from lamina.compat.slugnet.loss import SoftmaxCategoricalCrossEntropy
from lamina.compat.slugnet.model import Model
from lamina.compat.slugnet.optimizers import SGD
from lamina.compat.slugnet.regularizers import L2Regularization
from lamina.errors import ConfigError


def test_penalty_and_its_exact_gradient(rng):
    w = rng.standard_normal((3, 4))
    assert L2Regularization(0.3).call(w) == pytest.approx(0.3 * np.sum(w ** 2))
    np.testing.assert_allclose(L2Regularization(0.3).grad(w), 0.6 * w)


def test_dense_trains_with_the_penalty():
    """One SGD step from a known weight: the update is lr * (loss gradient + 2 alpha w), and
    the reported loss includes alpha * sum(w ** 2)."""
    (x, y), _ = lamina.datasets.load_digits()
    X, Y = x[:8].reshape(8, 64) / 16.0, np.eye(10)[y[:8]]

    def trained(regularization):
        model = Model(n_epoch=1, batch_size=8, validation_split=0, progress=False,
                      loss=SoftmaxCategoricalCrossEntropy(), optimizer=SGD(lr=0.5),
                      layers=[Dense(10, inshape=64, activation=Softmax(),
                                    regularization=regularization)])
        model.compile()
        model.layers[0].w[...] = 0.01
        lamina.seed(0)
        return model, model.fit(X, Y)
    plain, plain_result = trained(None)
    penalised, result = trained(L2Regularization(0.2))
    start = np.full((64, 10), 0.01, np.float32)
    np.testing.assert_allclose(penalised.layers[0].w, plain.layers[0].w - 0.5 * 0.4 * start,
                               rtol=1e-5, atol=1e-7)
    assert result["train"]["loss"] == pytest.approx(
        plain_result["train"]["loss"] + 0.2 * np.sum(start.astype(np.float64) ** 2), rel=1e-5)


@pytest.mark.parametrize("make, message", [
    (lambda: L2Regularization(-1), "slugnet L2Regularization expects alpha as a finite real number >= 0"),
    (lambda: Dense(3, inshape=2, regularization=0.1),
     "slugnet Dense expects regularization as a slugnet.regularizers object"),
])
def test_bad_settings(make, message):
    with pytest.raises(ConfigError, match=message):
        make()
