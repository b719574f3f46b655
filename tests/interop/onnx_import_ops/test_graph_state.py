import pytest

from lamina.interop.onnx_import_ops.graph_state import float_attribute, layer_base_name


@pytest.mark.parametrize("node_name, op_type, expected", [
    ("node/0.conv1/Conv", "Conv", "conv1"),           # lamina's export_onnx
    ("node/block.1.bn/BatchNormalization_2", "BatchNormalization", "bn"),
    ("/features/0/Conv", "Conv", "features_0"),       # torch.onnx.export, TorchScript
    ("/Relu", "Relu", "relu"),
    ("node_Conv_0", "Conv", "node_Conv_0"),           # torch.onnx.export, dynamo
    ("", "Gemm", "gemm"),
])
def test_layer_base_name(node_name, op_type, expected):
    assert layer_base_name(node_name, op_type) == expected


def test_float_attributes_come_back_at_their_decimal_value():
    import numpy as np

    assert float_attribute(np.float32(1e-5)) == 1e-5
    assert float_attribute(np.float32(0.1)) == 0.1
