"""A LeNet-style CNN on MNIST: ``python -m lamina.examples.mnist_conv``.

conv 3x3 (32) - ReLU - maxpool 2 - conv 3x3 (64) - ReLU - maxpool 2 - dense 128 - ReLU -
dense 10, trained with Adam. One epoch reaches about 98.5-99% test accuracy.
"""

import lamina
from lamina import layers as L
from lamina.datasets import load_mnist
from lamina.examples.runner import load_mnist_family, parse_args, run
from lamina.examples.mnist import MNIST_MEAN, MNIST_STD


def build_model():
    return lamina.Sequential([
        L.Conv2D(1, 32, 3, padding=1), L.ReLU(), L.MaxPool2D(2),
        L.Conv2D(32, 64, 3, padding=1), L.ReLU(), L.MaxPool2D(2),
        L.Flatten(), L.Linear(64 * 7 * 7, 128), L.ReLU(),
        L.Linear(128, 10),
    ], name="mnist_conv")


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv, epochs=1, batch_size=32, lr=1e-3,
                      validation_split=0.0)  # one epoch: every example counts
    lamina.seed(args.seed)
    data = load_mnist_family(load_mnist, args, MNIST_MEAN, MNIST_STD)
    return run(args, build_model(), lamina.optim.Adam(lr=args.lr), data, "mnist_conv")


if __name__ == "__main__":
    main()
