"""Datasets: raw ((x_train, y_train), (x_test, y_test)) arrays, as Keras returns them.

load_digits and load_coriolanus (a public-domain text) ship inside the package. load_mnist, load_fashion_mnist and load_cifar10 download
their files once into $LAMINA_DATA_DIR (default ~/.cache/lamina), check every file's SHA-256,
and read them without pickle; pass path= a folder holding the files to work offline.
"""

from lamina.datasets._files import DatasetError, cache_dir
from lamina.datasets.cifar import load_cifar10
from lamina.datasets.digits import load_digits
from lamina.datasets.mnist import load_fashion_mnist, load_mnist
from lamina.datasets.text import load_coriolanus

__all__ = ["DatasetError", "cache_dir", "load_cifar10", "load_coriolanus", "load_digits",
           "load_fashion_mnist", "load_mnist"]
