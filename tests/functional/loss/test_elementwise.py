"""The elementwise losses' shared machinery: targets and weights of the input's shape, and the
sum or mean of the pointwise losses."""

import numpy as np
import pytest

from lamina.errors import DTypeError, LabelError, ShapeError
from lamina.functional.loss.elementwise import (elementwise_inputs, elementwise_target,
                                                elementwise_weight, reduce_pointwise)
from lamina.functional.loss.reduce import reduce_losses


def test_target_column_for_one_output_column():
    target = elementwise_target("op", np.array([1, 0, 1]), (3, 1), np.float32)
    assert target.shape == (3, 1) and target.dtype == np.float32
    assert target.ravel().tolist() == [1.0, 0.0, 1.0]
    with pytest.raises(LabelError, match=r"op expects a target of the same shape as pred \(3, 2\)"):
        elementwise_target("op", np.zeros(3), (3, 2), np.float32)  # no (N,) -> (N, 2) broadcast


def test_target_keeps_its_dtype_without_one():
    assert elementwise_target("op", np.array([1, 2]), (2,), None).dtype == np.array([1]).dtype


@pytest.mark.parametrize("target, fragment", [
    (None, "op expects target as numbers of pred's shape \\(2,\\). Received: NoneType"),
    ({"a": 1}, "Received: dict"),
    (np.array(["a", "b"]), r"target as numbers \(bool, int or float\). Received: target.dtype=<U1"),
])
def test_target_must_be_numbers(target, fragment):
    with pytest.raises(LabelError, match=fragment):
        elementwise_target("op", target, (2,), np.float64)


def test_target_in_unit_interval():
    assert elementwise_target("op", [0.0, 0.25, 1.0], (3,), np.float64, in_unit_interval=True) \
        .tolist() == [0.0, 0.25, 1.0]
    with pytest.raises(LabelError, match=r"op expects targets in \[0, 1\] .*target\[1\]=1.5"):
        elementwise_target("op", [0.0, 1.5], (2,), np.float64, in_unit_interval=True)


def test_inputs_are_float_and_non_empty():
    pred, target = elementwise_inputs("op", np.zeros((2, 1), np.float32), [1, 0])
    assert pred.dtype == target.dtype == np.float32 and target.shape == (2, 1)
    with pytest.raises(ShapeError, match=r"op expects a non-empty pred. "
                                         r"Received: pred.shape=\(0,\)"):
        elementwise_inputs("op", np.zeros(0), np.zeros(0))
    with pytest.raises(DTypeError, match="op expects pred as a floating NumPy array"):
        elementwise_inputs("op", np.zeros(2, np.int64), np.zeros(2))


def test_weight_broadcasts_to_the_input_in_its_dtype():
    pred = np.zeros((2, 3), np.float32)
    assert elementwise_weight("op", "weight", None, pred) is None
    weight = elementwise_weight("op", "weight", [1, 2, 3], pred)
    assert weight.dtype == np.float32 and weight.tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(ShapeError, match=r"op expects weight to broadcast to the input's shape "
                                         r"\(2, 3\). Received: weight.shape=\(2,\)"):
        elementwise_weight("op", "weight", [1, 2], pred)


def test_reduce_pointwise_is_the_shared_reduction():
    assert reduce_pointwise is reduce_losses
