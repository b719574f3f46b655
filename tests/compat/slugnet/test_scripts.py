"""Scripts written the way slugnet's users write them, from slugnet's own tests/ and
integration/ folders (its XOR test, its MNIST integration tests with their accuracy bounds),
unchanged but for the import prefix, the current Dense signature and the data.

MNIST is the embedded digits enlarged to 28x28 (tests need no network): 1,797 images, so an
epoch is 45 steps where MNIST's was 1,750, and a script gets more epochs where 3 are too few
for its bound. XOR runs 1,500 epochs at SGD(lr=1.0) instead of slugnet's default 400,000 at
0.001 (minutes, not a test)."""

import numpy as np
import pytest

from lamina.compat.slugnet.activation import ReLU, Sigmoid, Softmax
from lamina.compat.slugnet.data.mnist import get_mnist
from lamina.compat.slugnet.examples import mnist_conv
from lamina.compat.slugnet.layers import Dense, Dropout
from lamina.compat.slugnet.loss import SoftmaxCategoricalCrossEntropy as SCCE
from lamina.compat.slugnet.model import Model
from lamina.compat.slugnet.optimizers import RMSProp, SGD
from lamina.compat.slugnet.regularizers import L2Regularization


def test_xor():
    """slugnet's tests/test_xor.py: transform of one row, compared with a number."""
    model = Model(progress=False, validation_split=0, batch_size=4, n_epoch=1500,
                  metrics=['loss', 'accuracy'], optimizer=SGD(lr=1.0))
    model.add_layer(Dense(3, inshape=2, activation=Sigmoid()))
    model.add_layer(Dense(1, activation=Sigmoid()))
    X_train = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    Y_train = np.array([[0], [1], [1], [0]])
    metrics = model.fit(X_train, Y_train)
    assert model.transform([0, 1]) > 0.9
    assert model.transform([1, 0]) > 0.9
    assert model.transform([0, 0]) < 0.1
    assert model.transform([1, 1]) < 0.1
    assert metrics == {'train': {'loss': pytest.approx(metrics['train']['loss']),
                                 'accuracy': 1.0}}


@pytest.fixture
def mnist(fake_mnist):
    fake_mnist(n_train=1437, n_test=360)  # all the digits: 1,797 images


def dense_net(n_epoch=3, **dense_options):
    model = Model(lr=0.01, n_epoch=n_epoch, loss=SCCE(), metrics=['loss', 'accuracy'],
                  optimizer=RMSProp(), progress=False)
    model.add_layer(Dense(200, inshape=784, activation=ReLU(), **dense_options))
    return model


def test_mnist(mnist):
    """integration/test_mnist.py TestMNIST: both accuracies above 0.9."""
    X, y = get_mnist()
    model = dense_net()
    model.add_layer(Dense(10, activation=Softmax()))
    fit_metrics = model.fit(X, y)
    assert fit_metrics['train']['accuracy'] > 0.9
    assert fit_metrics['val']['accuracy'] > 0.9


def test_mnist_with_dropout(mnist):
    """TestMNISTWithDropout: above 0.8 (the training accuracy, measured with half the units
    dropped, needs 6 epochs of the digits: 0.76 after 3)."""
    X, y = get_mnist()
    model = dense_net(n_epoch=6)
    model.add_layer(Dropout(0.5))
    model.add_layer(Dense(10, activation=Softmax()))
    fit_metrics = model.fit(X, y)
    assert fit_metrics['train']['accuracy'] > 0.8
    assert fit_metrics['val']['accuracy'] > 0.8


def test_mnist_with_l2_regularization(mnist):
    """TestMNISTWithL2Regularization: above 0.8, the penalty in the reported loss."""
    X, y = get_mnist()
    model = dense_net(regularization=L2Regularization(0.1))
    model.add_layer(Dense(10, activation=Softmax()))
    fit_metrics = model.fit(X, y)
    assert fit_metrics['train']['accuracy'] > 0.8
    assert fit_metrics['val']['accuracy'] > 0.8
    penalty = 0.1 * np.sum(model.layers[0].w.astype(np.float64) ** 2)
    assert fit_metrics['val']['loss'] > penalty


@pytest.mark.slow
def test_mnist_with_convnet(fake_mnist):
    """tests/test_conv.py TestMNISTWithConvnet is the documentation's convolutional example
    (1,000 images, SGD at 0.001 in batches of 3), which examples.mnist_conv runs: 45 of its
    100 epochs here, above 0.8 (0.11 until epoch 20, 0.89 at 40, 0.96 at 100)."""
    fake_mnist(n_train=1000, n_test=300)
    model = mnist_conv.main(["--epochs", "45", "--verbose", "0"])
    fit_metrics = model.history.history
    assert fit_metrics['accuracy'][-1] > 0.8
    assert fit_metrics['val_accuracy'][-1] > 0.8
