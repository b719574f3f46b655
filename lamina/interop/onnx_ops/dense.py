"""Linear and Dense: Gemm on the flattened input (lamina's weight is (in, out): transB=0),
then Dense's activation through that activation's own converter."""

from lamina.interop.onnx_ops.registry import convert, converts
from lamina.layers.dense import ACTIVATIONS, Dense
from lamina.layers.linear import Linear


def linear_params(g, layer, prefix):
    """[weight, bias] initializer names ([weight] without a bias)."""
    names = [g.param(prefix + "weight", layer.weight.data)]
    if layer.bias is not None:
        names.append(g.param(prefix + "bias", layer.bias.data))
    return names


@converts(Linear, Dense)
def linear(g, layer, inputs, shapes, prefix):
    """(N, d1..dk) -> Flatten -> Gemm(x, weight (D, out), bias) -> (N, out) [-> activation]."""
    x = inputs[0]
    if len(shapes[0]) != 2:
        x = g.node("Flatten", [x], axis=1)
    out = g.node("Gemm", [x, *linear_params(g, layer, prefix)], name=prefix + layer.name)
    make = ACTIVATIONS.get(getattr(layer, "activation", None))
    if make is None:
        return out
    return convert(g, make(), [out], [(shapes[0][0], layer.out_features)], prefix)
