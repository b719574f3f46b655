"""slugnet.data.mnist: get_mnist(), MNIST as slugnet's examples take it.

    X, y = get_mnist()     # X: (70000, 784) float32 pixel values 0..255; y: (70000, 10) one-hot

All 70,000 images (the 60,000 training images, then the 10,000 test images), each a row of
784 pixels, unscaled (the convolutional example divides by 255 itself), with one-hot float32
labels, which is what slugnet's losses and accuracy read. The files come from
lamina.datasets.load_mnist: downloaded once into the cache folder and checksummed, or read
from ``path``; without the network or a local copy a DatasetError says where to put them.
"""

import numpy as np

from lamina import datasets
from lamina.errors import DatasetError

__all__ = ["get_mnist"]


def get_mnist(path=None, download=True):
    """(X, y): X (70000, 784) float32 in 0..255, y (70000, 10) float32 one-hot."""
    try:
        (x_train, y_train), (x_test, y_test) = datasets.load_mnist(path=path, download=download)
    except DatasetError as error:
        raise DatasetError(f"slugnet get_mnist could not load MNIST: {error}") from error
    images = np.concatenate([x_train, x_test]).reshape(-1, 28 * 28).astype(np.float32)
    labels = np.concatenate([y_train, y_test])
    return images, np.eye(10, dtype=np.float32)[labels]
