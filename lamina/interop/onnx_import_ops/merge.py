"""Add / Sub / Mul / Div, Mean and Concat. Two computed tensors -> the merge layers Add,
Subtract, Multiply, Average (Mean of any number), Concatenate; a tensor and a constant ->
ConstantArithmetic (the constant may not vary along the batch axis)."""

import numpy as np

from lamina import layers as L
from lamina.graph.tensor import SymbolicTensor
from lamina.interop.onnx_ops.arithmetic import ONNX_OPS
from lamina.layers.arithmetic import ConstantArithmetic
from lamina.interop.onnx_import_ops.registry import converts

_OPERATIONS = {op_type: operation for operation, op_type in ONNX_OPS.items()}
_MERGES = {"Add": L.Add, "Sub": L.Subtract, "Mul": L.Multiply}


@converts(*_OPERATIONS)
def arithmetic(node, graph):
    left, right = graph.value(node, 0), graph.value(node, 1)
    if isinstance(left, SymbolicTensor) and isinstance(right, SymbolicTensor):
        if node.op_type not in _MERGES:
            raise graph.error(node, "divides two computed tensors, which lamina has no layer for")
        return [graph.call(_MERGES[node.op_type](name=graph.layer_name(node)), left, right)]
    constant_first = not isinstance(left, SymbolicTensor)
    x, constant = (right, left) if constant_first else (left, right)
    constant = np.asarray(constant)
    neutral = {"add": 0, "subtract": 0, "multiply": 1, "divide": 1}[_OPERATIONS[node.op_type]]
    if constant.size == 1 and constant.ndim <= x.ndim and constant.item() == neutral and not (
            constant_first and node.op_type in ("Sub", "Div")):
        return [x]  # x + 0, x * 1 (exporters write them around some activations)
    if constant.ndim > x.ndim:
        raise graph.error(node, f"broadcasts its input {x.shape} to a higher rank. Received: "
                          f"constant shape {constant.shape}")
    constant = constant.reshape((1,) * (x.ndim - constant.ndim) + constant.shape)
    if constant.shape[0] != 1:
        raise graph.error(node, f"expects a constant that is the same for every example (size 1 "
                          f"along the batch axis). Received: constant shape {constant.shape}")
    layer = ConstantArithmetic(_OPERATIONS[node.op_type], constant.shape[1:], constant_first,
                               name=graph.layer_name(node))
    return [graph.call(layer, x, constant=constant[0])]


@converts("Mean")
def mean(node, graph):
    tensors = [graph.tensor(node, i) for i in range(len(node.inputs))]
    if len(tensors) == 1:
        return tensors
    return [graph.call(L.Average(name=graph.layer_name(node)), *tensors)]


@converts("Concat")
def concat(node, graph):
    tensors = [graph.tensor(node, i) for i in range(len(node.inputs))]
    axis = node.attr("axis") % tensors[0].ndim
    if axis == 0:
        raise graph.error(node, "concatenates along the batch axis, which lamina keeps apart")
    return [graph.call(L.Concatenate(axis=axis, name=graph.layer_name(node)), *tensors)]
