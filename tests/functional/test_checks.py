"""Every backward rejects a dout whose shape differs from its forward output's."""

import numpy as np
import pytest

from lamina import functional as F
from lamina.errors import ShapeError

x4 = np.random.default_rng(0).standard_normal((2, 3, 6, 6))
x2 = x4[:, :, 0, 0].copy()
BN = {"mode": "train"}

CASES = {
    "affine": (lambda: F.affine_forward(x2, np.ones((3, 4)), None), F.affine_backward),
    "relu": (lambda: F.relu_forward(x2), F.relu_backward),
    "sigmoid": (lambda: F.sigmoid_forward(x2), F.sigmoid_backward),
    "tanh": (lambda: F.tanh_forward(x2), F.tanh_backward),
    "softmax": (lambda: F.softmax_forward(x2), F.softmax_backward),
    "dropout_train": (lambda: F.dropout_forward(x2, 0.5, rng=0), F.dropout_backward),
    "dropout_eval": (lambda: F.dropout_forward(x2, 0.5, train=False), F.dropout_backward),
    "conv2d": (lambda: F.conv2d_forward(x4, np.ones((4, 3, 3, 3)), None), F.conv2d_backward),
    "conv_transpose2d": (lambda: F.conv_transpose2d_forward(x4, np.ones((3, 2, 2, 2)), None, 2),
                         F.conv_transpose2d_backward),
    "max_pool2d": (lambda: F.max_pool2d_forward(x4, 2), F.max_pool2d_backward),
    "avg_pool2d": (lambda: F.avg_pool2d_forward(x4, 2), F.avg_pool2d_backward),
    "batchnorm": (lambda: F.batchnorm_forward(x2, np.ones(3), np.zeros(3), dict(BN)),
                  F.batchnorm_backward),
    "spatial_batchnorm": (lambda: F.spatial_batchnorm_forward(x4, np.ones(3), np.zeros(3), dict(BN)),
                          F.spatial_batchnorm_backward),
}


@pytest.mark.parametrize("name", list(CASES))
def test_backward_rejects_broadcastable_dout(name):
    forward, backward = CASES[name]
    out, cache = forward()
    wrong = np.ones((1,) + out.shape[1:])  # would broadcast silently
    with pytest.raises(ShapeError, match=rf"{name.split('_')[0] if 'dropout' in name else name}_backward "
                                         rf"expects dout of the forward output's shape.*Received: dout.shape"):
        backward(wrong, cache)


# -- the setting checks: check_real, check_int, check_bool, check_choice ----------------------
from lamina.errors import ConfigError  # noqa: E402
from lamina.functional.checks import (check_bool, check_choice, check_int,  # noqa: E402
                                       check_number, check_real, interval_text)

ACCEPTED = [
    (check_real, dict(low=0, high=1, high_open=True), np.float32(0.25), 0.25),
    (check_real, dict(low=0), np.int64(3), 3.0),
    (check_real, dict(low=0, low_open=True), 1e-12, 1e-12),
    (check_real, dict(), -2, -2.0),
    (check_int, dict(low=1), np.int64(64), 64),
    (check_int, dict(low=0, high=2), np.uint8(2), 2),
    (check_int, dict(low=1, alternatives=("epoch",)), "epoch", "epoch"),
    (check_bool, dict(), np.bool_(True), True),
    (check_choice, dict(choices=(None, "raise")), None, None),
    (check_real, dict(low=0, high=1), np.float64(0.5), 0.5),
    (check_real, dict(low=0), np.float16(2.0), 2.0),
    (check_int, dict(low=0), np.int32(2), 2),
    (check_int, dict(low=1, alternatives=(None,)), None, None),
    (check_number, dict(), np.float32(1e-3), float(np.float32(1e-3))),
]


@pytest.mark.parametrize("check, options, value, expected", ACCEPTED)
def test_setting_checks_take_python_and_numpy_scalars(check, options, value, expected):
    result = check("op", "name", value, **options)
    assert result == expected and type(result) is type(expected)


REFUSED = [
    (check_real, dict(low=0, high=1, high_open=True), "0.2", "a finite real number in [0, 1)"),
    (check_real, dict(low=0, high=1, high_open=True), 1.0, "a finite real number in [0, 1)"),
    (check_real, dict(low=0, low_open=True), 0.0, "a finite real number > 0"),
    (check_real, dict(low=0), -1e-9, "a finite real number >= 0"),
    (check_real, dict(), float("nan"), "a finite real number"),
    (check_real, dict(), float("inf"), "a finite real number"),
    (check_real, dict(), True, "a finite real number"),
    (check_real, dict(), None, "a finite real number"),
    (check_real, dict(), np.array([0.5]), "a finite real number"),
    (check_int, dict(low=1), 32.0, "an int >= 1"),
    (check_int, dict(low=1), 0, "an int >= 1"),
    (check_int, dict(low=1), True, "an int >= 1"),
    (check_int, dict(low=1), "32", "an int >= 1"),
    (check_int, dict(low=1), np.True_, "an int >= 1"),
    (check_int, dict(low=1), np.float64(2.0), "an int >= 1"),
    (check_int, dict(low=1, alternatives=(None,)), False, "an int >= 1 or None"),
    (check_real, dict(), np.True_, "a finite real number"),
    (check_real, dict(low=0, high=1), False, "a finite real number in [0, 1]"),
    (check_number, dict(), True, "a finite number"),
    (check_number, dict(), np.float32("nan"), "a finite number"),
    (check_int, dict(low=0, high=2, alternatives=("auto",)), 3, "an int in [0, 2] or 'auto'"),
    (check_int, dict(low=0, high=2, alternatives=("auto",)), "Auto", "an int in [0, 2] or 'auto'"),
    (check_bool, dict(), 1, "a bool"),
    (check_bool, dict(), "True", "a bool"),
    (check_choice, dict(choices=("raise", "stop")), "Raise", "one of 'raise', 'stop'"),
    (check_choice, dict(choices=(0, 1)), True, "one of 0, 1"),
    (check_choice, dict(choices=(0, 1)), 1.0, "one of 0, 1"),
]


@pytest.mark.parametrize("check, options, value, expected", REFUSED)
def test_setting_checks_refuse_with_the_name_and_the_value(check, options, value, expected):
    with pytest.raises(ConfigError) as caught:
        check("fit", "setting", value, **options)
    message = str(caught.value)
    assert message.startswith(f"fit expects setting as {expected}")
    assert message.endswith(f"Received: setting={value!r}")


@pytest.mark.parametrize("bounds, text", [
    (dict(), ""), (dict(low=0), " >= 0"), (dict(low=0, low_open=True), " > 0"),
    (dict(high=1), " <= 1"), (dict(low=0, high=1), " in [0, 1]"),
    (dict(low=0.5, high=1, low_open=True, high_open=True), " in (0.5, 1)"),
])
def test_interval_text(bounds, text):
    assert interval_text(**bounds) == text
