import numpy as np
import pytest

import lamina
from lamina import layers as L


@pytest.fixture
def regression():
    """A tiny linear-regression model and data: fast, deterministic, easy to reason about."""
    lamina.seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]]) + 0.1).astype(np.float32)
    model = lamina.Sequential([L.Linear(3, 1)])
    model.compile(loss="mse", optimizer=lamina.optim.SGD(lr=0.05))
    return model, x, y


class FakeModel:
    """What the monitor-driven callbacks touch: weights, an optimizer, stop_training."""

    def __init__(self, lr=1.0):
        self.weights, self.stop_training = [np.zeros(2)], False
        self.optimizer = lamina.optim.SGD(lr=lr)

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [w.copy() for w in weights]


@pytest.fixture
def fake_model():
    return FakeModel()


def drive(callback, model, values, key="val_loss", weights=None):
    """Run callback over epochs whose logs hold `values`; returns the epochs run."""
    callback.set_model(model)
    callback.set_params({"epochs": len(values), "steps": 1, "batch_size": 1, "samples": 1,
                         "verbose": 0})
    callback.on_train_begin()
    run = []
    for epoch, value in enumerate(values):
        callback.on_epoch_begin(epoch)
        if weights is not None:
            model.weights = [np.full(2, float(weights[epoch]))]
        callback.on_epoch_end(epoch, {key: value})
        run.append(epoch)
        if model.stop_training:
            break
    callback.on_train_end()
    return run
