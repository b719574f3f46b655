"""Constructor arguments across lamina go through lamina.functional.checks: NumPy scalars count
as numbers, bools do not, and a refusal names the layer, the argument and what arrived."""

import numpy as np
import pytest

from lamina import callbacks, layers as L, optim
from lamina.errors import ConfigError


def test_numpy_scalars_are_accepted_as_numbers():
    dropout = L.Dropout(np.float32(0.5))
    assert dropout.p == 0.5 and type(dropout.p) is float
    assert L.LeakyReLU(np.float64(0.1)).negative_slope == 0.1
    optimizer = optim.Adam(lr=np.float32(1e-3))
    assert optimizer.lr == float(np.float32(1e-3)) and type(optimizer.lr) is float
    stopping = callbacks.EarlyStopping(patience=np.int64(2))
    assert stopping.patience == 2 and type(stopping.patience) is int
    assert L.Linear(np.int64(3), np.int32(2)).out_features == 2


@pytest.mark.parametrize("make, message", [
    (lambda: L.Dropout(True), r"Dropout expects p as a finite real number in \[0, 1\]. "
                              r"Received: p=True"),
    (lambda: L.LeakyReLU(np.True_), r"LeakyReLU expects negative_slope as .*Received: "),
    (lambda: callbacks.EarlyStopping(patience=True),
     r"EarlyStopping expects patience as an int >= 0. Received: patience=True"),
    (lambda: callbacks.EarlyStopping(patience=np.float64(2.0)),
     r"EarlyStopping expects patience as an int >= 0. Received: patience=np.float64\(2.0\)"),
    (lambda: optim.SGD(lr=False),
     r"SGD expects lr as a finite real number >= 0 or a lamina.optim schedule. Received: lr=False"),
    (lambda: L.Linear(True, 2), r"Linear expects in_features as an int >= 1 or None. "
                                r"Received: in_features=True"),
])
def test_bools_and_wrong_types_are_refused_naming_the_owner(make, message):
    with pytest.raises(ConfigError, match=message):
        make()
