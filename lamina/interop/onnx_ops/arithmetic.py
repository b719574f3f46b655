"""ConstantArithmetic as ONNX: the constant an initializer named as in state_dict (its
example axes broadcast over the batch, as NumPy's), then the one op, so that an imported
model exports again."""

from lamina.interop.onnx_ops.registry import converts
from lamina.layers.arithmetic import ConstantArithmetic

ONNX_OPS = {"add": "Add", "subtract": "Sub", "multiply": "Mul", "divide": "Div"}


@converts(ConstantArithmetic)
def constant_arithmetic(g, layer, inputs, shapes, prefix):
    constant = g.param(prefix + "constant", layer.constant)
    operands = [constant, inputs[0]] if layer.constant_first else [inputs[0], constant]
    return g.node(ONNX_OPS[layer.operation], operands, name=prefix + layer.name)
