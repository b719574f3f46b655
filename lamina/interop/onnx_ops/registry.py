"""The converter registry: which function writes each layer class as ONNX nodes.

A converter is ``convert(g, layer, inputs, shapes, prefix) -> [output names]``: g the
OnnxGraph, inputs the names of the tensors the layer reads, shapes their lamina shapes
(batch first, None where unknown), prefix the layer's path in the model's state_dict
("3." , "stage1_block1.0.body."), which its initializers carry. Lookup is by the exact
class: a subclass (a user's Conv2D with another forward) is never exported with its
parent's math without saying so; register it with ``converts`` once it is.
"""

from lamina.errors import ConfigError

CONVERTERS = {}


def converts(*classes):
    """Decorator: register the function as the converter of `classes`."""
    def register(function):
        for cls in classes:
            CONVERTERS[cls] = function
        return function
    return register


def converter_for(layer):
    """The converter of type(layer); a ConfigError naming the layer and its class if none."""
    function = CONVERTERS.get(type(layer))
    if function is None:
        cls = type(layer)
        raise ConfigError(f"export_onnx: {layer.describe()} ({cls.__module__}.{cls.__qualname__})"
                          f" has no ONNX converter, so the model cannot be exported. Register one "
                          f"with lamina.interop.onnx_ops.registry.converts({cls.__name__})")
    return function


def convert(g, layer, inputs, shapes, prefix):
    """The output names of `layer` written into g (see the module doc)."""
    outputs = converter_for(layer)(g, layer, list(inputs), [tuple(s) for s in shapes], prefix)
    return outputs if isinstance(outputs, list) else [outputs]
