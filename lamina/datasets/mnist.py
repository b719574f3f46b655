"""MNIST and Fashion-MNIST: 60,000 training and 10,000 test 28x28 grey images in 10 classes.

Both ship as the same four gzip'd IDX files. SHA-256 digests: MNIST's as pinned by torchvision
and by several unrelated projects, Fashion-MNIST's as pinned by Keras and by torchvision.
"""

from pathlib import Path

import numpy as np

from lamina.datasets._files import DatasetError
from lamina.datasets.download import Remote, fetch, placement_help
from lamina.datasets.idx import read_idx, read_idx_header

TRAIN = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
TEST = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")

MNIST = Remote("MNIST", "mnist", (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
), {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
})

FASHION_MNIST = Remote("Fashion-MNIST", "fashion-mnist", (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
), {
    "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
})


def load_mnist(path=None, download=True):
    """MNIST handwritten digits as ((x_train, y_train), (x_test, y_test)), as Keras returns them.

    x: uint8 images (60000, 28, 28) and (10000, 28, 28), ink 0..255; y: uint8 labels 0..9,
    (60000,) and (10000,). Without `path`, the four .gz files are kept in
    $LAMINA_DATA_DIR/mnist (default ~/.cache/lamina/mnist), downloaded when missing (unless
    download=False) and SHA-256 verified on every load. `path`: a folder holding the four files,
    gzip'd or not (train-images-idx3-ubyte.gz or train-images-idx3-ubyte, ...), read as they
    are, with no network and no checksum. Errors: DatasetError (an OSError).
    """
    return _load(MNIST, path, download)


def load_fashion_mnist(path=None, download=True):
    """Fashion-MNIST (Zalando article images) as ((x_train, y_train), (x_test, y_test)).

    Same shapes, dtypes, file names and `path`/`download` rules as load_mnist; cached in
    $LAMINA_DATA_DIR/fashion-mnist. Classes: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress,
    4 Coat, 5 Sandal, 6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot.
    """
    return _load(FASHION_MNIST, path, download)


def _load(remote, path, download):
    if path is None:
        folder = fetch(remote, download)
        files = {name: folder / name for name in TRAIN + TEST}
    else:
        files = _local_files(remote, Path(path))
    return tuple(_read_split(files[images], files[labels]) for images, labels in (TRAIN, TEST))


def _local_files(remote, folder):
    if not folder.is_dir():
        raise DatasetError(f"{remote.name}: path={str(folder)!r} is not a folder")
    files, missing = {}, []
    for name in TRAIN + TEST:
        found = [file for file in (folder / name, folder / name[:-3]) if file.is_file()]
        if found:
            files[name] = found[0]
        else:
            missing.append(name)
    if missing:
        raise DatasetError(f"{remote.name}: {folder} lacks {', '.join(missing)}.\n" + placement_help(
            remote, folder, missing, note=" (uncompressed copies, named without .gz, work too)"))
    return files


def _read_split(images_path, labels_path):
    """(images (N, 28, 28), labels (N,)), the counts checked against each other from the headers."""
    images_count = read_idx_header(images_path)[1][0]
    labels_count = read_idx_header(labels_path)[1][0]
    if images_count != labels_count:
        raise DatasetError(f"{images_path.name} holds {images_count} images but "
                           f"{labels_path.name} {labels_count} labels: the files do not pair up")
    images = read_idx(images_path, np.uint8, (images_count, 28, 28))
    labels = read_idx(labels_path, np.uint8, (labels_count,))
    if labels.size and labels.max() > 9:
        first = int(np.argmax(labels > 9))
        raise DatasetError(f"{labels_path}: labels must be 0..9. Received: {labels[first]} "
                           f"at index {first}")
    return images, labels
