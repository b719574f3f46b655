import numpy as np

from lamina.datasets import load_digits


def test_shapes_dtypes_and_split():
    (x_train, y_train), (x_test, y_test) = load_digits()
    assert x_train.shape == (1437, 8, 8) and x_test.shape == (360, 8, 8)
    assert y_train.shape == (1437,) and y_test.shape == (360,)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8
    assert x_train.max() == 16 and x_train.min() == 0
    assert np.array_equal(np.bincount(y_test), np.full(10, 36))
    assert np.all(np.bincount(y_train) >= 138) and np.bincount(y_train).sum() == 1437


def test_same_arrays_every_call_and_no_overlap():
    (a, _), (t, _) = load_digits()
    (b, _), _ = load_digits()
    assert np.array_equal(a, b)
    train_rows = {row.tobytes() for row in a}
    # a handful of digits are pixel-identical across writers; the split itself must not copy rows
    assert sum(row.tobytes() in train_rows for row in t) < 10
