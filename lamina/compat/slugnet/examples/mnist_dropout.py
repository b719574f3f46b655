"""slugnet's dense MNIST network with dropout: ``python -m
lamina.compat.slugnet.examples.mnist_dropout``.

As the mnist example, with Dropout(0.5) after the hidden layer: units are dropped while
training and the output is halved at inference (the weight-scaling inference rule). The code
is slugnet's documentation example with only the import prefix changed.
"""

from lamina.compat.slugnet.activation import ReLU, Softmax
from lamina.compat.slugnet.data.mnist import get_mnist
from lamina.compat.slugnet.layers import Dense, Dropout
from lamina.compat.slugnet.loss import SoftmaxCategoricalCrossEntropy as SCCE
from lamina.compat.slugnet.model import Model
from lamina.compat.slugnet.optimizers import RMSProp


def main():
    X, y = get_mnist()
    model = Model(lr=0.01, n_epoch=3, loss=SCCE(),
                  metrics=['loss', 'accuracy'],
                  optimizer=RMSProp())

    model.add_layer(Dense(200, inshape=784, activation=ReLU()))
    model.add_layer(Dropout(0.5))
    model.add_layer(Dense(10, activation=Softmax()))

    return model.fit(X, y)


if __name__ == "__main__":
    main()
