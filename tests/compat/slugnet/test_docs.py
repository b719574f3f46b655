"""Every code example printed in slugnet's documentation (seed 001), verbatim but for the import
prefix (slugnet. -> lamina.compat.slugnet.), run on a small MNIST stand-in (tests need no
network). The continuation lines are unindented as the documentation prints them."""

import re

import pytest

# Seed 001, "Fully Connected Deep Networks": two dense layers on MNIST.
DENSE = """\
from lamina.compat.slugnet.activation import ReLU, Softmax
from lamina.compat.slugnet.layers import Dense
from lamina.compat.slugnet.loss import SoftmaxCategoricalCrossEntropy as SCCE
from lamina.compat.slugnet.model import Model
from lamina.compat.slugnet.optimizers import RMSProp
from lamina.compat.slugnet.data.mnist import get_mnist
X, y = get_mnist()
model = Model(lr=0.01, n_epoch=3, loss=SCCE(),
metrics=['loss', 'accuracy'],
optimizer=RMSProp())
model.add_layer(Dense(200, inshape=784, activation=ReLU()))
model.add_layer(Dense(10, activation=Softmax()))
model.fit(X, y)
"""

# Seed 001, "Dropout": the same network with Dropout(0.5) after the hidden layer.
DROPOUT = """\
from lamina.compat.slugnet.activation import ReLU, Softmax
from lamina.compat.slugnet.layers import Dense, Dropout
from lamina.compat.slugnet.loss import SoftmaxCategoricalCrossEntropy as SCCE
from lamina.compat.slugnet.model import Model
from lamina.compat.slugnet.optimizers import RMSProp
from lamina.compat.slugnet.data.mnist import get_mnist
X, y = get_mnist()
model = Model(lr=0.01, n_epoch=3, loss=SCCE(),
metrics=['loss', 'accuracy'],
optimizer=RMSProp())
model.add_layer(Dense(200, inshape=784, activation=ReLU()))
model.add_layer(Dropout(0.5))
model.add_layer(Dense(10, activation=Softmax()))
model.fit(X, y)
"""

# Seed 001, "Pooling": the convolutional network (100 epochs, batches of 3).
CONVOLUTION = """\
import numpy as np
from lamina.compat.slugnet.activation import ReLU, Softmax
from lamina.compat.slugnet.layers import Convolution, Dense, MeanPooling, Flatten
from lamina.compat.slugnet.loss import SoftmaxCategoricalCrossEntropy as SCCE
from lamina.compat.slugnet.model import Model
from lamina.compat.slugnet.optimizers import SGD
from lamina.compat.slugnet.data.mnist import get_mnist
X, y = get_mnist()
X = X.reshape((-1, 1, 28, 28)) / 255.0
np.random.seed(100)
X = np.random.permutation(X)[:1000]
np.random.seed(100)
y = np.random.permutation(y)[:1000]
model = Model(lr=0.001, n_epoch=100, batch_size=3, loss=SCCE(),
metrics=['loss', 'accuracy'], optimizer=SGD())
model.add_layer(Convolution(1, (3, 3), inshape=(None, 1, 28, 28)))
model.add_layer(MeanPooling((2, 2)))
model.add_layer(Convolution(2, (4, 4)))
model.add_layer(MeanPooling((2, 2)))
model.add_layer(Flatten())
model.add_layer(Dense(10, activation=Softmax()))
model.fit(X, y)
"""

TABLE_ROW = re.compile(r"^\| (train|validation) +\| +(\d+) \| +([\d.e+-]+) \| +([\d.e+-]+) \|$",
                       re.M)


def run(code):
    namespace = {"__name__": "docs_example"}
    exec(compile(code, "slugnet docs example", "exec"), namespace)
    return namespace


def statistics(printed):
    """{(run, epoch): (loss, accuracy)} read back from the printed tables."""
    return {(kind, int(epoch)): (float(loss), float(acc))
            for kind, epoch, loss, acc in TABLE_ROW.findall(printed)}


@pytest.mark.parametrize("code", [DENSE, DROPOUT], ids=["dense", "dropout"])
def test_dense_examples_train_and_print_every_epoch(code, fake_mnist, capsys):
    fake_mnist(n_train=300, n_test=100)
    namespace = run(code)
    stats = statistics(capsys.readouterr().out)
    assert set(stats) == {(kind, epoch) for kind in ("train", "validation") for epoch in range(3)}
    assert stats[("validation", 2)][1] > 0.5  # ten classes: chance is 0.1
    X = namespace["X"]
    assert X.shape == (400, 784) and namespace["y"].shape == (400, 10)
    probabilities = namespace["model"].transform(X[:5])
    assert probabilities.shape == (5, 10)
    assert abs(probabilities.sum(axis=1) - 1).max() < 1e-5


def test_convolution_example_runs_its_100_epochs(fake_mnist, capsys):
    fake_mnist(n_train=24, n_test=6)  # 24 of the 30 train in batches of 3: 8 steps an epoch
    namespace = run(CONVOLUTION)
    stats = statistics(capsys.readouterr().out)
    assert set(stats) == {(kind, epoch) for kind in ("train", "validation") for epoch in range(100)}
    model = namespace["model"]
    assert [layer.outshape for layer in model.layers] == [
        (None, 1, 26, 26), (None, 1, 13, 13), (None, 2, 10, 10), (None, 2, 5, 5), (None, 50),
        (None, 10)]
    assert stats[("train", 99)][0] < stats[("train", 0)][0]
