import dataclasses
import gzip

import numpy as np
import pytest

from lamina.datasets import DatasetError, load_fashion_mnist, load_mnist, mnist
from lamina.datasets.mnist import TEST, TRAIN

LOADERS = {"mnist": load_mnist, "fashion": load_fashion_mnist}


def assert_same(loaded, expected):
    for (x, y), (x_expected, y_expected) in zip(loaded, expected):
        assert x.dtype == np.uint8 and y.dtype == np.uint8
        assert x.shape == x_expected.shape and y.shape == y_expected.shape
        np.testing.assert_array_equal(x, x_expected)
        np.testing.assert_array_equal(y, y_expected)


@pytest.mark.parametrize("loader", LOADERS.values(), ids=LOADERS.keys())
@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
def test_local_folder_gz_or_raw(tmp_path, mnist_files, loader, gz):
    expected = mnist_files(tmp_path / "data", gz=gz, n_train=6, n_test=4)
    (x_train, y_train), (x_test, y_test) = loaded = loader(path=tmp_path / "data", download=False)
    assert x_train.shape == (6, 28, 28) and y_train.shape == (6,)
    assert x_test.shape == (4, 28, 28) and y_test.shape == (4,)
    assert x_train.flags.writeable and y_test.flags.writeable
    assert_same(loaded, expected)
    assert not (tmp_path / "cache").exists()   # path= never touches the cache


def test_local_folder_mixes_gz_and_raw_and_takes_a_string(tmp_path, mnist_files):
    expected = mnist_files(tmp_path, gz=True)
    labels = tmp_path / "t10k-labels-idx1-ubyte.gz"
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(gzip.decompress(labels.read_bytes()))
    labels.unlink()
    assert_same(load_mnist(path=str(tmp_path)), expected)


def test_local_folder_missing_files_says_what_to_place_where(tmp_path, mnist_files):
    mnist_files(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte.gz").unlink()
    (tmp_path / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DatasetError) as info:
        load_mnist(path=tmp_path)
    message = str(info.value)
    assert f"{tmp_path} lacks train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz" in message
    assert f"Place these files in {tmp_path}" in message
    for mirror in mnist.MNIST.mirrors:
        assert mirror + "train-labels-idx1-ubyte.gz" in message
        assert mirror + "t10k-images-idx3-ubyte.gz" in message
    assert "train-images" not in message


def test_fashion_error_names_the_fashion_mirror(tmp_path):
    with pytest.raises(DatasetError, match="http://fashion-mnist.s3-website.eu-central-1"
                                           ".amazonaws.com/train-images-idx3-ubyte.gz"):
        load_fashion_mnist(path=tmp_path)


def test_path_that_is_not_a_folder(tmp_path):
    with pytest.raises(DatasetError, match=r"MNIST: path='.*nope' is not a folder"):
        load_mnist(path=tmp_path / "nope")


def test_image_and_label_counts_are_paired_from_the_headers(tmp_path, mnist_files, write_idx):
    mnist_files(tmp_path, n_train=5)
    # 7 labels against 5 images; and a payload that lies too: the pairing is checked first
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(3, np.uint8), gz=True, shape=(7,))
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte.gz holds 5 images but "
                                           "train-labels-idx1-ubyte.gz 7 labels"):
        load_mnist(path=tmp_path)


@pytest.mark.parametrize("shape, dtype, message", [
    ((5, 8, 8), np.uint8, r"shape \(5, 28, 28\) and dtype uint8. Received: shape \(5, 8, 8\)"),
    ((5, 784), np.uint8, r"Received: shape \(5, 784\)"),
    ((5, 28, 28), np.float32, r"Received: shape \(5, 28, 28\), dtype float32"),
])
def test_images_of_the_wrong_kind(tmp_path, mnist_files, write_idx, shape, dtype, message):
    mnist_files(tmp_path, n_train=5)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros(shape, dtype), gz=True)
    with pytest.raises(DatasetError, match=message):
        load_mnist(path=tmp_path)


def test_labels_out_of_range(tmp_path, mnist_files, write_idx):
    mnist_files(tmp_path, n_test=3)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.array([3, 10, 255], np.uint8), gz=True)
    with pytest.raises(DatasetError, match=r"labels must be 0..9. Received: 10 at index 1"):
        load_mnist(path=tmp_path)


def test_truncated_image_payload(tmp_path, mnist_files, write_idx):
    mnist_files(tmp_path, n_train=5, gz=False)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DatasetError, match=r"declares shape \(5, 28, 28\), i.e. 3920 bytes.*3820"):
        load_mnist(path=tmp_path)


@pytest.mark.parametrize("loader, folder, name", [
    (load_mnist, "mnist", "MNIST"), (load_fashion_mnist, "fashion-mnist", "FASHION_MNIST")])
def test_verified_cache_is_used_without_network(cache, mnist_files, digests, monkeypatch,
                                                loader, folder, name):
    expected = mnist_files(cache / folder)
    remote = dataclasses.replace(getattr(mnist, name), sha256=digests(cache / folder, TRAIN + TEST))
    monkeypatch.setattr(mnist, name, remote)
    assert_same(loader(), expected)
    assert_same(loader(download=False), expected)


def test_download_false_with_empty_cache_lists_files_dir_and_urls(cache):
    with pytest.raises(DatasetError) as info:
        load_mnist(download=False)
    message = str(info.value)
    assert "MNIST is not in the cache and download=False" in message
    assert f"Place these files in {cache / 'mnist'}" in message and "LAMINA_DATA_DIR" in message
    for name in TRAIN + TEST:
        assert f"{name} missing" in message
        for mirror in mnist.MNIST.mirrors:
            assert mirror + name in message
    assert not (cache / "mnist").exists()
