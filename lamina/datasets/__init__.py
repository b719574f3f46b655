"""Datasets: raw ((x_train, y_train), (x_test, y_test)) arrays, as Keras returns them."""

from lamina.datasets.digits import load_digits

__all__ = ["load_digits"]
