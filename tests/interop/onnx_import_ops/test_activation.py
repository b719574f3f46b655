import numpy as np
import pytest

from tests.interop.onnx_import_ops.helpers import (assert_matches_runtime, floats, layer_types,
                                                   model_file, node)
from lamina.errors import InteropError
from lamina.interop import load_onnx


@pytest.mark.parametrize("op_type, attributes, constants, layer", [
    ("Relu", {}, {}, "ReLU"),
    ("Sigmoid", {}, {}, "Sigmoid"),
    ("Tanh", {}, {}, "Tanh"),
    ("Softplus", {}, {}, "Softplus"),
    ("HardSwish", {}, {}, "HardSwish"),
    ("LeakyRelu", dict(alpha=0.2), {}, "LeakyReLU"),
    ("Elu", dict(alpha=0.5), {}, "ELU"),
    ("HardSigmoid", dict(alpha=1 / 6, beta=0.5), {}, "HardSigmoid"),
    ("Clip", {}, {"low": np.float32(0), "high": np.float32(6)}, "ReLU6"),
    ("Clip", {}, {"low": np.float32(0)}, "ReLU"),
    ("Softmax", dict(axis=1), {}, "Softmax"),
    ("Softmax", {}, {}, "Softmax"),
    ("LogSoftmax", dict(axis=-1), {}, "LogSoftmax"),
])
def test_activation_matches_runtime(tmp_path, op_type, attributes, constants, layer):
    path = model_file(tmp_path, [node(op_type, ["x", *constants], **attributes)], {"x": (3, 4)},
                      constants)
    model = assert_matches_runtime(path, {"x": floats((2, 3, 4), low=-8, high=8)})
    assert layer_types(model) == [layer]


def test_attributes_are_carried_at_their_decimal_value(tmp_path):
    path = model_file(tmp_path, [node("LeakyRelu", ["x"], alpha=0.1)], {"x": (3,)})
    assert load_onnx(path).layers[0].negative_slope == 0.1  # not float32's 0.10000000149


@pytest.mark.parametrize("op_type, attributes, constants, message", [
    ("HardSigmoid", {}, {}, "alpha=1/6 and beta=0.5"),
    ("Clip", {}, {"low": np.float32(-1), "high": np.float32(1)}, "min=-1.0, max=1.0"),
    ("Softmax", dict(axis=0), {}, "batch axis"),
])
def test_activation_lamina_cannot_express_is_refused(tmp_path, op_type, attributes, constants,
                                                     message):
    path = model_file(tmp_path, [node(op_type, ["x", *constants], **attributes)], {"x": (3,)},
                      constants)
    with pytest.raises(InteropError, match=f"\\({op_type}\\).*{message}"):
        load_onnx(path)
