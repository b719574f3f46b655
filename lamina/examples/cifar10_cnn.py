"""A CNN with batch normalisation on CIFAR-10: ``python -m lamina.examples.cifar10_cnn``.

Two blocks of (conv 3x3 - BN - ReLU) x 2 - maxpool 2 (32 then 64 channels), then dropout
and a dense classifier, trained with Adam. Downloads the CIFAR-10 binary distribution
(about 163 MB) on first use, or reads it from ``--data-dir``.
"""

import lamina
from lamina import layers as L
from lamina.datasets import load_cifar10
from lamina.examples.runner import parse_args, run, standardize

CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)


def conv_bn_relu(cin, cout):
    return [L.Conv2D(cin, cout, 3, padding=1, bias=False), L.BatchNorm2D(cout), L.ReLU()]


def build_model():
    return lamina.Sequential([
        *conv_bn_relu(3, 32), *conv_bn_relu(32, 32), L.MaxPool2D(2),
        *conv_bn_relu(32, 64), *conv_bn_relu(64, 64), L.MaxPool2D(2),
        L.Flatten(), L.Dropout(0.3), L.Linear(64 * 8 * 8, 10),
    ], name="cifar10_cnn")


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv, epochs=10, batch_size=64, lr=1e-3)
    lamina.seed(args.seed)
    (x_train, y_train), (x_test, y_test) = load_cifar10(path=args.data_dir)
    data = ((standardize(x_train, CIFAR_MEAN, CIFAR_STD), y_train),
            (standardize(x_test, CIFAR_MEAN, CIFAR_STD), y_test))
    return run(args, build_model(), lamina.optim.Adam(lr=args.lr), data, "cifar10_cnn")


if __name__ == "__main__":
    main()
