"""Models, data and comparisons shared by the distributed tests (LocalEngine and Spark)."""

import numpy as np

import lamina
from lamina import layers as L
from lamina.callbacks import Callback
from lamina.distributed.plan import epoch_order

N, IMAGE = 37, (1, 6, 6)  # 37 rows: batches of 8 end with an odd batch of 5
FAULTY_SEED = 12345  # the Spark test session fails a task of runs with this seed, once


def data(n=N, classes=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n,) + IMAGE), rng.integers(0, classes, n)


def conv_net(dtype=np.float64, optimizer=None, dropout=0.0, norm=None, regularizer=None,
             seed=0):
    """Conv -> ReLU -> [norm] -> Flatten -> Linear -> ReLU -> [Dropout] -> Linear, compiled."""
    lamina.seed(seed)
    layers = [L.Conv2D(1, 3, 3, padding=1), L.ReLU()]
    if norm is not None:
        layers.append(norm)
    layers += [L.Flatten(), L.Linear(None, 16, kernel_regularizer=regularizer), L.ReLU()]
    if dropout:
        layers.append(L.Dropout(dropout))
    model = lamina.Sequential(layers + [L.Linear(16, 4)])
    model.build((None,) + IMAGE)
    model.astype(dtype)
    model.compile(loss="cross_entropy", metrics=["accuracy"],
                  optimizer=optimizer() if optimizer else lamina.optim.Adam(lr=1e-2))
    return model


def fit_in_plan_order(model, x, y, seed, epochs, batch_size):
    """model.fit over the distributed plan's batches: each epoch's permutation, unshuffled."""
    histories = []
    for epoch in range(epochs):
        order = epoch_order(seed, epoch, len(x), True)
        histories.append(model.fit(x[order], y[order], epochs=1, batch_size=batch_size,
                                   shuffle=False, verbose=0).history)
    return {key: [h[key][0] for h in histories] for key in histories[0]}


def max_difference(first, second):
    """Largest absolute difference between two models' weights and buffers."""
    return max(float(np.max(np.abs(a - b))) for a, b in zip(first.get_weights(),
                                                             second.get_weights()))


def same_weights(first, second):
    return all(np.array_equal(a, b) for a, b in zip(first.get_weights(), second.get_weights()))


class Crash(Callback):
    """Raises where a driver might die: at the end of an epoch, or inside one."""

    def __init__(self, epoch, batch=None):
        self.epoch, self.batch = epoch, batch

    def on_train_batch_end(self, batch, logs=None):
        if self.batch is not None and (self.current, batch) == (self.epoch, self.batch):
            raise RuntimeError("driver crash")

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_epoch_end(self, epoch, logs=None):
        if self.batch is None and epoch == self.epoch:
            raise RuntimeError("driver crash")
