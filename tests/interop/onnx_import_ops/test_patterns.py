import math

import numpy as np
import pytest

from tests.interop.onnx_import_ops.helpers import (assert_matches_runtime, floats, layer_types,
                                                   model_file, node)
from lamina.errors import InteropError
from lamina.interop import load_onnx

_CONSTANTS = {"root2": np.float32(math.sqrt(2)), "inverse_root2": np.float32(1 / math.sqrt(2)),
              "one": np.float32(1), "half": np.float32(0.5)}


def _erf_term(scale="Div"):
    divisor = "root2" if scale == "Div" else "inverse_root2"
    return [node(scale, ["x", divisor], ["scaled"], name="scale"),
            node("Erf", ["scaled"], ["erf"], name="/Erf"),
            node("Add", ["one", "erf"], ["term"], name="plus_one")]


ORDERS = {  # the last node named as exporters name a layer's output node
    "torchscript": [node("Mul", ["x", "term"], ["product"]),
                    node("Mul", ["product", "half"], name="/act/Mul_1")],
    "half_last": [node("Mul", ["term", "half"], ["product"]),
                  node("Mul", ["x", "product"], name="/act/Mul_1")],
    "half_first": [node("Mul", ["x", "half"], ["product"]),
                   node("Mul", ["product", "term"], name="/act/Mul_1")],
}


@pytest.mark.parametrize("scale", ["Div", "Mul"])
@pytest.mark.parametrize("order", ORDERS)
def test_gelu_formula_becomes_one_gelu(tmp_path, order, scale):
    nodes = _erf_term(scale) + ORDERS[order]
    path = model_file(tmp_path, nodes, {"x": (6,)}, _CONSTANTS)
    model = assert_matches_runtime(path, {"x": floats((3, 6), low=-3, high=3)})
    assert layer_types(model) == ["GELU"] and model.layers[0].name == "act"


def test_erf_read_elsewhere_is_not_a_gelu(tmp_path):
    nodes = _erf_term() + ORDERS["torchscript"][:1] + [node("Add", ["product", "erf"])]
    path = model_file(tmp_path, nodes, {"x": (6,)}, _CONSTANTS)
    with pytest.raises(InteropError, match=r"'/Erf' \(Erf\)"):
        load_onnx(path)


def test_x_times_its_sigmoid_is_a_silu(tmp_path):
    nodes = [node("Sigmoid", ["x"], ["gate"]), node("Mul", ["gate", "x"], name="/swish/Mul")]
    model = assert_matches_runtime(model_file(tmp_path, nodes, {"x": (5,)}),
                                   {"x": floats((2, 5), low=-4, high=4)})
    assert layer_types(model) == ["SiLU"] and model.layers[0].name == "swish"


@pytest.mark.parametrize("beta", [1.0, 2.0])
def test_softplus_with_a_threshold_is_one_softplus(tmp_path, beta):
    """What lamina's export_onnx writes for Softplus(beta, threshold)."""
    constants = {"threshold": np.float32(3.0), "beta": np.float32(beta)}
    z = "x" if beta == 1 else "z"
    nodes = ([] if beta == 1 else [node("Mul", ["x", "beta"], ["z"])]) + [
        node("Softplus", [z], ["soft"]), node("Greater", [z, "threshold"], ["linear"])]
    soft = "soft"
    if beta != 1:
        nodes.append(node("Div", ["soft", "beta"], ["scaled"]))
        soft = "scaled"
    nodes.append(node("Where", ["linear", "x", soft]))
    model = assert_matches_runtime(model_file(tmp_path, nodes, {"x": (5,)}, constants),
                                   {"x": floats((4, 5), low=-5, high=5)})
    (softplus,) = model.layers
    assert layer_types(model) == ["Softplus"]
    assert (softplus.beta, softplus.threshold) == (beta, 3.0)
