"""slugnet.model: Model, which chains slugnet layers into a lamina.Sequential and trains it.

    model = Model(lr=0.01, n_epoch=3, loss=SCCE(), metrics=['loss', 'accuracy'],
                  optimizer=RMSProp())
    model.add_layer(Dense(200, inshape=784, activation=ReLU()))
    model.add_layer(Dense(10, activation=Softmax()))
    result = model.fit(X, y)    # prints a table per epoch; result['val']['accuracy']

``compile()`` connects the layers, the first for its ``inshape``, each next one for its
predecessor's output, and draws their weights (again, if called again); fit calls it when
it has not been called (then the first layer may also take its shape from X). fit runs as
slugnet's: it holds out ``validation_split`` of the samples, ceil(N * split) of them, drawn at
random once (lamina's generator: ``lamina.seed`` makes it repeatable), and trains for
``n_epoch`` epochs on the rest, in the same order every epoch, in N_train // batch_size
full batches (the remainder is not trained on). Each epoch's "train" statistics are those
of the predictions made while training (each batch before its update), "validation" those
of the held-out samples afterwards, in inference mode. The ``metrics`` ('loss',
'accuracy') are printed as a grid table every ``log_interval`` epochs (counted from 0);
``progress`` draws a bar while a terminal shows it. fit returns the last epoch's
statistics, ``{'train': {'loss': ..., 'accuracy': ...}, 'val': {...}}`` ('val' only with a
validation split), and keeps lamina's History in ``model.history``.

accuracy is slugnet's: with one-hot (or any several-column) targets the argmax of the
outputs against the argmax of the targets; with a single column (or 1-D) of targets the
outputs rounded to 0 or 1 against them. Class ids (N,) with several outputs count as
lamina reads them (argmax against the id).

``transform(X)`` (alias ``predict``) runs in inference mode (dropout scaled): for a batch the
outputs (N, ...) of every row, as slugnet's documentation says; for one sample (a 1-D row
such as ``[0, 1]``, or one example of the first layer's shape) that sample's output, a
scalar where the network has one output, as slugnet's transform returned.

The learning rate is the optimizer's own (``RMSProp(lr=...)``, 0.001 by default): the
Model's ``lr`` is kept as an attribute and does not change it, as in slugnet. Defaults are
slugnet's: lr=0.1, n_epoch=400000, batch_size=32, optimizer=SGD(),
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
from lamina.functional.checks import check_int, check_real
from lamina.compat.slugnet.optimizers import SGD, Optimizer
from lamina.errors import ConfigError, ShapeError

__all__ = ["Model", "accuracy"]

METRICS = ("loss", "accuracy")


def accuracy(outputs, y):
    """Fraction of examples predicted right, as slugnet's Model.accuracy measured it.

    Targets with several columns (one-hot rows, N x C): argmax of the outputs == argmax of
    the targets. A single column or 1-D targets: the outputs rounded to 0 or 1 == the target,
    example by example. Class ids (N,) (or (N, 1)) with several outputs: argmax == the id.

    >>> accuracy(np.array([[0.2], [0.9]]), np.array([[0], [0]]))
    0.5
    >>> accuracy(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([[0, 1], [0, 1]]))
    0.5
    """
    outputs, y = np.asarray(outputs), np.asarray(y)
    if outputs.ndim != 2 or len(outputs) != len(y) or not 1 <= y.ndim <= 2:
        raise ShapeError(f"slugnet accuracy expects outputs (N, k) and targets (N,) or (N, k). "
                         f"Received: outputs.shape={outputs.shape}, y.shape={y.shape}")
    if y.ndim == 2 and y.shape[1] > 1:
        return float(np.mean(np.argmax(outputs, axis=1) == np.argmax(y, axis=1)))
    if outputs.shape[1] > 1:
        return lamina_metrics.accuracy(outputs, y.reshape(len(y)))
    return float(np.mean(np.rint(outputs[:, 0]) == y.reshape(len(y))))


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
        self.compiled = False
        self._example_shape = None  # one example's shape, once built
        self._optimizer = None

    def add_layer(self, layer):
        """Append a slugnet layer (Dense, Dropout, Convolution, MeanPooling, Flatten)."""
        if not isinstance(layer, Layer):
            raise ConfigError(f"slugnet Model.add_layer expects a slugnet.layers layer such as "
                              f"Dense(10). Received: {layer!r}")
        self.layers.append(layer)

    # -- the lamina network --------------------------------------------------------------
    def compile(self):
        """Connect the layers for the first one's inshape and draw every weight afresh."""
        if not self.layers:
            raise ConfigError("slugnet Model has no layers: add them with model.add_layer(...)")
        declared = self.layers[0].example_shape()
        if declared is None:
            raise ConfigError(f"slugnet Model.compile: inshape must be given to the first layer "
                              f"of a network (e.g. Dense(200, inshape=784)). Received: "
                              f"{type(self.layers[0]).__name__} without inshape")
        self._compile((None,) + declared)

    def _compile(self, input_shape):
        self.build(input_shape, redraw=True)
        self.compiled, self._optimizer = True, None

    def build(self, input_shape, redraw=False):
        """Build every layer for a batch-first input shape; returns the lamina.Sequential."""
        if not self.layers:
            raise ConfigError("slugnet Model has no layers: add them with model.add_layer(...)")
        shape = tuple(input_shape)
        for i, layer in enumerate(self.layers):
            layer.index = i
            shape = layer.build(shape, redraw=redraw)
        parts = [part for layer in self.layers for part in layer.parts]
        if self.network is None or self.network.layers != parts:
            self.network = lamina.Sequential(parts, name="slugnet_model")
        self._example_shape = tuple(input_shape[1:])
        return self.network

    def _lamina_loss(self):
        if isinstance(self.loss, Objective):
            return self.loss.lamina_loss()
        return losses.get(self.loss)

    def _lamina_optimizer(self):
        """The lamina optimizer, kept (with its state) while the slugnet one stays the same."""
        if self._optimizer is None or self._optimizer[0] is not self.optimizer:
            native = self.optimizer.lamina_optimizer() \
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
        if not self.compiled:
            self._compile((None,) + X.shape[1:])
        network = self.build((None,) + X.shape[1:])
        network.compile(loss=self._lamina_loss(), optimizer=self._lamina_optimizer(),
                        metrics=[accuracy] if "accuracy" in self.metrics else [])
        (x_train, y_train), validation = self._split(X, y)
        trained = len(x_train) // self.batch_size * self.batch_size
        if not trained:
            raise ConfigError(f"slugnet Model.fit trains on full batches only: {len(x_train)} "
                              f"training samples make no batch of batch_size="
                              f"{self.batch_size}. Received: X.shape={X.shape}, "
                              f"validation_split={self.validation_split}")
        report = SlugnetReport(self.metrics, self.log_interval, self.progress)
        self.history = network.fit(x_train[:trained], y_train[:trained], epochs=self.n_epoch,
                                   batch_size=self.batch_size, shuffle=False,
                                   validation_data=validation, verbose=0, callbacks=[report])
        return report.last

    def _split(self, X, y):
        """((X_train, y_train), (X_val, y_val) or None): ceil(N * validation_split) samples
        drawn at random held out, the rest shuffled (sklearn's train_test_split, as slugnet)."""
        if not self.validation_split:
            order = get_rng().permutation(len(X))
            return (X[order], y[order]), None
        held_out = math.ceil(len(X) * self.validation_split)
        if held_out >= len(X):
            raise ConfigError(f"slugnet Model: validation_split={self.validation_split} of "
                              f"{len(X)} samples leaves none to train on. Received: "
                              f"X.shape={X.shape}")
        order = get_rng().permutation(len(X))
        train, val = order[held_out:], order[:held_out]
        return (X[train], y[train]), (X[val], y[val])

    def transform(self, X):
        """Outputs in inference mode (dropout scaled): (N, ...) for a batch X; for one sample
        (a 1-D row, or one example of the first layer's shape) its output, a scalar where the
        network has a single output (slugnet's transform(x)[0])."""
        X = np.asarray(X)
        example = self._example_shape
        if example is None and self.layers:
            example = self.layers[0].example_shape()
        if example is not None and X.ndim == len(example) and X.size:
            out = self.transform(X[np.newaxis])[0]
            return out[0] if out.shape == (1,) else out
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
    return check_real("slugnet Model", name, value, 0, low_open=positive)


def _integer(name, value, minimum):
    return check_int("slugnet Model", name, value, minimum)
