"""slugnet.model: Model, which chains slugnet layers into a lamina.Sequential and trains it.

    model = Model(lr=0.01, n_epoch=3, loss=SCCE(), metrics=['loss', 'accuracy'],
                  optimizer=RMSProp())
    model.add_layer(Dense(200, inshape=784, activation=ReLU()))
    model.add_layer(Dense(10, activation=Softmax()))
    model.fit(X, y)        # prints a table of training and validation statistics per epoch

fit is lamina's ``Sequential.compile`` + ``fit`` on the layers' lamina parts: it holds out a
random ``validation_split`` of the examples (drawn from lamina's generator, ``lamina.seed``),
then trains for ``n_epoch`` epochs in mini-batches of ``batch_size``, reshuffled every epoch
(the last, smaller batch is kept). After every epoch it evaluates the held-out examples in
inference mode and prints the statistics named in ``metrics`` ('loss', 'accuracy') every
``log_interval`` epochs; ``progress`` draws a bar while a terminal shows it. It returns
{'train': {...}, 'val': {...}} for the last epoch and keeps lamina's History in
``model.history``. Gradients are those of the mean loss over a batch for weights and biases
alike. ``transform(X)`` (alias ``predict``) returns the outputs for every row of X.

Defaults are slugnet's: lr=0.1, n_epoch=400000, batch_size=32, optimizer=SGD(),
loss=BinaryCrossEntropy(), validation_split=0.2, metrics=['loss'], progress=True,
log_interval=1.
"""

import math

import numpy as np

import lamina
from lamina import losses, metrics as lamina_metrics, optim
from lamina.backend import as_float_array, get_rng
from lamina.compat.slugnet._report import SlugnetReport
from lamina.compat.slugnet.layers import Layer
from lamina.compat.slugnet.loss import BinaryCrossEntropy, Objective
from lamina.compat.slugnet.optimizers import SGD, Optimizer
from lamina.errors import ConfigError, ShapeError

__all__ = ["Model", "accuracy"]

METRICS = ("loss", "accuracy")


def accuracy(outputs, y):
    """Fraction of examples predicted right, as slugnet measured it.

    Several outputs (N, C): the argmax against class ids (N,) or one-hot rows (N, C)
    (lamina.metrics.accuracy). One output (N, 1): the output rounded to 0 or 1 against y.

    >>> accuracy(np.array([[0.2], [0.9]]), np.array([0, 0]))
    0.5
    """
    outputs = np.asarray(outputs)
    if outputs.ndim == 2 and outputs.shape[1] == 1:
        return float(np.mean(np.rint(outputs[:, 0]) == np.asarray(y).reshape(len(outputs))))
    return lamina_metrics.accuracy(outputs, y)


class Model:
    """A network of slugnet layers, trained with lamina (see the module docstring)."""

    def __init__(self, lr=0.1, n_epoch=400000, batch_size=32, layers=None, optimizer=None,
                 loss=None, validation_split=0.2, metrics=None, progress=True, log_interval=1):
        self.lr = _number("lr", lr, positive=True)
        self.n_epoch = _integer("n_epoch", n_epoch, 0)
        self.batch_size = _integer("batch_size", batch_size, 1)
        self.log_interval = _integer("log_interval", log_interval, 1)
        self.validation_split = _number("validation_split", validation_split)
        if self.validation_split >= 1:
            raise ConfigError(f"slugnet Model expects validation_split in [0, 1). "
                              f"Received: validation_split={validation_split!r}")
        self.metrics = ["loss"] if metrics is None else list(metrics)
        unknown = [name for name in self.metrics if name not in METRICS]
        if unknown:
            raise ConfigError(f"slugnet Model expects metrics from {list(METRICS)}. "
                              f"Received: metrics={self.metrics!r}")
        self.optimizer = SGD() if optimizer is None else _instance(optimizer, Optimizer)
        if not isinstance(self.optimizer, (Optimizer, optim.Optimizer, str)):
            raise ConfigError(f"slugnet Model expects optimizer as a slugnet.optimizers object "
                              f"such as RMSProp(). Received: {optimizer!r}")
        self.loss = BinaryCrossEntropy() if loss is None else _instance(loss, Objective)
        self.progress = progress
        self.layers = []
        for layer in layers or []:
            self.add_layer(layer)
        self.network, self.history = None, None  # the lamina.Sequential, built when first used
        self._optimizer = None

    def add_layer(self, layer):
        """Append a slugnet layer (Dense, Dropout, Convolution, MeanPooling, Flatten)."""
        if not isinstance(layer, Layer):
            raise ConfigError(f"slugnet Model.add_layer expects a slugnet.layers layer such as "
                              f"Dense(10). Received: {layer!r}")
        self.layers.append(layer)

    # -- the lamina network --------------------------------------------------------------
    def build(self, input_shape):
        """Build every layer for a batch-first input shape; returns the lamina.Sequential."""
        if not self.layers:
            raise ConfigError("slugnet Model has no layers: add them with model.add_layer(...)")
        shape = tuple(input_shape)
        for i, layer in enumerate(self.layers):
            layer.index = i
            shape = layer.build(shape)
        parts = [part for layer in self.layers for part in layer.parts]
        if self.network is None or self.network.layers != parts:
            self.network = lamina.Sequential(parts, name="slugnet_model")
        return self.network

    def _lamina_loss(self):
        if isinstance(self.loss, Objective):
            return self.loss.lamina_loss()
        return losses.get(self.loss)

    def _lamina_optimizer(self):
        if self._optimizer is None or self._optimizer[0] is not self.optimizer:
            native = self.optimizer.lamina_optimizer(self.lr) \
                if isinstance(self.optimizer, Optimizer) else optim.get(self.optimizer)
            self._optimizer = (self.optimizer, native)
        return self._optimizer[1]

    # -- training and prediction ---------------------------------------------------------
    def fit(self, X, y):
        """Train on samples X and labels or values y; returns the last epoch's statistics."""
        X, y = _batch("fit", X), np.asarray(y)
        if y.shape[:1] != X.shape[:1]:
            raise ShapeError(f"slugnet Model.fit expects one label per sample. "
                             f"Received: X.shape={X.shape}, y.shape={y.shape}")
        network = self.build((None,) + X.shape[1:])
        (x_train, y_train), validation = self._split(X, y)
        network.compile(loss=self._lamina_loss(), optimizer=self._lamina_optimizer(),
                        metrics=[accuracy] if "accuracy" in self.metrics else [])
        report = SlugnetReport(self.metrics, self.log_interval, self.progress)
        self.history = network.fit(x_train, y_train, epochs=self.n_epoch,
                                   batch_size=self.batch_size, validation_data=validation,
                                   verbose=0, callbacks=[report])
        return report.last

    def _split(self, X, y):
        """((X_train, y_train), (X_val, y_val) or None): a random validation_split held out."""
        if not self.validation_split:
            return (X, y), None
        held_out = math.ceil(len(X) * self.validation_split)
        if held_out >= len(X):
            raise ConfigError(f"slugnet Model: validation_split={self.validation_split} of "
                              f"{len(X)} samples leaves none to train on. Received: "
                              f"X.shape={X.shape}")
        order = get_rng().permutation(len(X))
        train, val = order[held_out:], order[:held_out]
        return (X[train], y[train]), (X[val], y[val])

    def transform(self, X):
        """The network's outputs for every row of X (inference mode: dropout scaled)."""
        X = _batch("transform", X)
        return self.build((None,) + X.shape[1:]).predict(X)

    predict = transform

    def feedforward(self, X, train=True):
        """One forward pass over X, in training mode unless train=False."""
        X = _batch("feedforward", X)
        network = self.build((None,) + X.shape[1:])
        network.train(train)
        return network.forward(as_float_array(X, network.dtype))

    accuracy = staticmethod(accuracy)


def _instance(value, base):
    """A slugnet class given where an object is expected (loss=SCCE) is instantiated."""
    return value() if isinstance(value, type) and issubclass(value, base) else value


def _batch(caller, X):
    X = np.asarray(X)
    if X.ndim < 2 or X.shape[0] == 0:
        raise ShapeError(f"slugnet Model.{caller} expects X as a non-empty batch (N, ...), one "
                         f"sample per row. Received: X.shape={X.shape}")
    return X


def _number(name, value, positive=False):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
            or not np.isfinite(value) or value < 0 or (positive and value == 0):
        raise ConfigError(f"slugnet Model expects {name} as a number {'>' if positive else '>='} "
                          f"0. Received: {name}={value!r}")
    return float(value)


def _integer(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(f"slugnet Model expects {name} as an int >= {minimum}. "
                          f"Received: {name}={value!r}")
    return int(value)
