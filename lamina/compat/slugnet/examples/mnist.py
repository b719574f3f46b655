"""slugnet's dense MNIST network: ``python -m lamina.compat.slugnet.examples.mnist``.

784 -> Dense 200 + ReLU -> Dense 10 + Softmax, RMSProp at lr 0.01, three epochs; prints the
training and validation statistics of every epoch. The code is slugnet's documentation
example with only the import prefix changed.
"""

from lamina.compat.slugnet.activation import ReLU, Softmax
from lamina.compat.slugnet.data.mnist import get_mnist
from lamina.compat.slugnet.layers import Dense
from lamina.compat.slugnet.loss import SoftmaxCategoricalCrossEntropy as SCCE
from lamina.compat.slugnet.model import Model
from lamina.compat.slugnet.optimizers import RMSProp


def main():
    X, y = get_mnist()
    model = Model(lr=0.01, n_epoch=3, loss=SCCE(),
                  metrics=['loss', 'accuracy'],
                  optimizer=RMSProp())

    model.add_layer(Dense(200, inshape=784, activation=ReLU()))
    model.add_layer(Dense(10, activation=Softmax()))

    return model.fit(X, y)


if __name__ == "__main__":
    main()
