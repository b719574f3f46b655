"""A dense network on MNIST, as in the slugnet docs: ``python -m lamina.examples.mnist``.

784 -> Dense 200 + ReLU -> Dense 10 + Softmax, trained with RMSProp. Downloads MNIST (about
11 MB) into the cache folder on first use, or reads it from ``--data-dir``.
"""

import lamina
from lamina import layers as L
from lamina.datasets import load_mnist
from lamina.examples.runner import load_mnist_family, parse_args, run

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


def build_model(dropout=0.0):
    """Flatten, Dense 784-200, ReLU, [Dropout], Dense 200-10, Softmax."""
    layers = [L.Flatten(), L.Linear(784, 200), L.ReLU()]
    if dropout:
        layers.append(L.Dropout(dropout))
    layers += [L.Linear(200, 10), L.Softmax()]
    return lamina.Sequential(layers, name="mnist_dense")


def main(argv=None, dropout=0.0, doc=__doc__):
    args = parse_args(doc.splitlines()[0], argv, epochs=5, batch_size=64, lr=1e-3)
    lamina.seed(args.seed)
    data = load_mnist_family(load_mnist, args, MNIST_MEAN, MNIST_STD)
    optimizer = lamina.optim.RMSProp(lr=args.lr)
    return run(args, build_model(dropout), optimizer, data, "mnist" if not dropout else "mnist_dropout")


if __name__ == "__main__":
    main()
