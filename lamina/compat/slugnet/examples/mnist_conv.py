"""slugnet's convolutional MNIST network: ``python -m lamina.compat.slugnet.examples.mnist_conv``.

conv 3x3 (1 kernel, ReLU) - mean pool 2x2 - conv 4x4 (2 kernels, ReLU) - mean pool 2x2 -
flatten - Dense 10 + Softmax, on 1,000 images for 100 epochs of SGD in batches of 3 (26,700
steps: a few minutes on a 2-core CPU). The code is slugnet's documentation example with only
the import prefix changed.
"""

import numpy as np

from lamina.compat.slugnet.activation import ReLU, Softmax  # noqa: F401  (as in slugnet's docs)
from lamina.compat.slugnet.data.mnist import get_mnist
from lamina.compat.slugnet.layers import Convolution, Dense, Flatten, MeanPooling
from lamina.compat.slugnet.loss import SoftmaxCategoricalCrossEntropy as SCCE
from lamina.compat.slugnet.model import Model
from lamina.compat.slugnet.optimizers import SGD


def main():
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

    return model.fit(X, y)


if __name__ == "__main__":
    main()
