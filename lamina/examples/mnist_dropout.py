"""The dense MNIST network with Dropout(0.5) after the hidden layer, as in the slugnet docs:
``python -m lamina.examples.mnist_dropout``.

Dropout is active only in training (inverted scaling, so inference needs no rescaling).
"""

from lamina.examples import mnist


def main(argv=None):
    return mnist.main(argv, dropout=0.5, doc=__doc__)


if __name__ == "__main__":
    main()
