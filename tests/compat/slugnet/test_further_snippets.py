"""Snippets in the style of slugnet's documentation beyond its own examples: other shapes,
nets given to the constructor, both losses, both optimizers, the module-style imports."""

import numpy as np

import lamina
import lamina.compat.slugnet as slugnet
from lamina.compat.slugnet.activation import ReLU, Sigmoid, Softmax, Tanh
from lamina.compat.slugnet.initializations import GlorotUniform, HeUniform
from lamina.compat.slugnet.layers import Convolution, Dense, Dropout, Flatten, MeanPooling
from lamina.compat.slugnet.loss import BinaryCrossEntropy
from lamina.compat.slugnet.loss import SoftmaxCategoricalCrossEntropy as SCCE
from lamina.compat.slugnet.model import Model
from lamina.compat.slugnet.optimizers import RMSProp, SGD


def digit_images():
    (x, y), _ = lamina.datasets.load_digits()
    return x[:400, None] / 16.0, np.eye(10)[y[:400]]


def test_layers_given_to_the_constructor_with_tanh_and_sgd(capsys):
    X, y = digit_images()
    X = X.reshape(len(X), -1)
    model = Model(lr=0.5, n_epoch=6, batch_size=16, validation_split=0.25, loss=SCCE(),
                  metrics=['loss', 'accuracy'], optimizer=SGD(lr=0.5), log_interval=3, progress=False,
                  layers=[Dense(32, inshape=64, activation=Tanh(), init=HeUniform()),
                          Dense(10, activation=Softmax())])
    metrics = model.fit(X, y)
    assert metrics['val']['accuracy'] > 0.8
    assert capsys.readouterr().out.count("| train ") == 2  # epochs 0 and 3


def test_a_strided_convolutional_net_with_dropout_and_rmsprop():
    X, y = digit_images()
    model = Model(lr=0.005, n_epoch=4, batch_size=20, loss=SCCE(), progress=False,
                  metrics=['accuracy'], optimizer=RMSProp(rho=0.95, lr=0.005))
    model.add_layer(Convolution(6, (3, 3), inshape=(1, 8, 8), init=GlorotUniform()))
    model.add_layer(Dropout(0.1))
    model.add_layer(Convolution(12, (2, 2), stride=2))
    model.add_layer(MeanPooling((1, 1)))
    model.add_layer(Flatten())
    model.add_layer(Dropout(0.2))
    model.add_layer(Dense(10, activation=Softmax()))
    metrics = model.fit(X, y)
    assert model.layers[2].outshape == (None, 12, 3, 3)
    assert metrics['val']['accuracy'] > 0.6
    probabilities = model.transform(X[:8])
    assert np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    assert SCCE().forward(probabilities, y[:8]) < 2.3  # better than chance (log 10)


def test_binary_classification_with_the_default_loss(rng):
    X = rng.uniform(-1, 1, (300, 2))
    y = (np.hypot(X[:, 0], X[:, 1]) < 0.7).astype(float).reshape(-1, 1)  # a disc
    model = Model(n_epoch=60, batch_size=32, optimizer=RMSProp(lr=0.05), progress=False,
                  metrics=['loss', 'accuracy'], log_interval=100)
    model.add_layer(Dense(16, inshape=2, activation=ReLU()))
    model.add_layer(Dense(1, activation=Sigmoid()))
    assert isinstance(model.loss, BinaryCrossEntropy)
    metrics = model.fit(X, y)
    assert metrics['train']['accuracy'] > 0.9
    assert BinaryCrossEntropy().forward(model.transform(X), y) < 0.35


def test_module_style_access_and_training_that_resumes():
    X, y = digit_images()
    X = X.reshape(len(X), -1)
    model = slugnet.model.Model(lr=0.01, n_epoch=1,
                                loss=slugnet.loss.SoftmaxCategoricalCrossEntropy(),
                                optimizer=slugnet.optimizers.RMSProp(), metrics=['loss'],
                                progress=False)
    model.add_layer(slugnet.layers.Dense(10, inshape=64, activation=slugnet.activation.Softmax()))
    first = model.fit(X, y)['train']['loss']
    weights = model.layers[0].w.copy()
    second = model.fit(X, y)['train']['loss']
    assert second < first and not np.array_equal(weights, model.layers[0].w)
