"""slugnet's dense MNIST network with dropout: ``python -m
lamina.compat.slugnet.examples.mnist_dropout [--help]``.

As the mnist example, with Dropout(0.5) after the hidden layer: units are dropped while
training and the output is halved at inference (the weight-scaling inference rule).
"""

from lamina.compat.slugnet.examples import mnist


def main(argv=None):
    return mnist.main(argv, dropout=0.5, doc=__doc__)


if __name__ == "__main__":
    main()
