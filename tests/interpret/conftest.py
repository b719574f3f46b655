import numpy as np
import pytest

import lamina
from lamina import layers as L


@pytest.fixture
def cnn():
    """A small float64 CNN (BatchNorm and Dropout, so modes and buffers matter), trained-ish."""
    lamina.seed(0)
    model = lamina.Sequential([
        L.Conv2D(1, 4, 3, padding=1, name="conv"), L.BatchNorm2D(4), L.ReLU(name="relu"),
        L.MaxPool2D(2), L.Flatten(), L.Dropout(0.3), L.Linear(None, 3, name="fc"),
    ]).astype(np.float64)
    model.build((None, 1, 6, 6))
    return model


@pytest.fixture
def images():
    return np.random.default_rng(0).standard_normal((4, 1, 6, 6))
