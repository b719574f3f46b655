"""The embedded UCI 8x8 handwritten digits (1,797 images), shipped inside the package."""

from importlib import resources

import numpy as np


def load_digits():
    """((x_train, y_train), (x_test, y_test)) as raw arrays, as Keras' loaders return them.

    x: uint8 images (N, 8, 8) with ink levels 0..16; y: uint8 class ids 0..9.
    Fixed split: 1,437 training and 360 test images (36 per class); see data/README.md for
    the source (UCI, CC BY 4.0) and how the split was drawn.
    """
    path = resources.files("lamina.datasets") / "data" / "digits.npz"
    with resources.as_file(path) as file, np.load(file, allow_pickle=False) as data:
        return (data["x_train"], data["y_train"]), (data["x_test"], data["y_test"])
