"""slugnet.data.mnist.get_mnist: MNIST as slugnet's examples take it, from lamina's loader."""

import numpy as np
import pytest

import lamina
from lamina.compat.slugnet.data.mnist import get_mnist
from lamina.errors import DatasetError


def test_rows_of_raw_pixels_and_one_hot_labels(fake_mnist):
    fake_mnist(n_train=30, n_test=10)
    X, y = get_mnist()
    assert X.shape == (40, 784) and X.dtype == np.float32
    assert X.max() == 255 and X.min() == 0
    assert y.shape == (40, 10) and y.dtype == np.float32 and (y.sum(axis=1) == 1).all()
    (x_train, y_train), (x_test, y_test) = lamina.datasets.load_mnist()
    np.testing.assert_array_equal(X[:30], x_train.reshape(30, 784))  # train, then test
    np.testing.assert_array_equal(X[30:], x_test.reshape(10, 784))
    np.testing.assert_array_equal(y.argmax(axis=1), np.concatenate([y_train, y_test]))


def test_path_and_download_reach_the_loader(monkeypatch):
    seen = {}

    def loader(path=None, download=True):
        seen.update(path=path, download=download)
        images = np.zeros((1, 28, 28), np.uint8)
        return (images, np.array([3], np.uint8)), (images, np.array([4], np.uint8))
    monkeypatch.setattr(lamina.datasets, "load_mnist", loader)
    X, y = get_mnist("/data/mnist", download=False)
    assert seen == {"path": "/data/mnist", "download": False}
    assert y.argmax(axis=1).tolist() == [3, 4]


def test_a_missing_dataset_is_a_clear_dataset_error(monkeypatch):
    def offline(path=None, download=True):
        raise DatasetError("MNIST: cannot download train-images-idx3-ubyte.gz; put it in /x")
    monkeypatch.setattr(lamina.datasets, "load_mnist", offline)
    with pytest.raises(DatasetError, match="slugnet get_mnist could not load MNIST: MNIST: "
                                           "cannot download"):
        get_mnist()
