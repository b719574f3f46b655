"""Which converter turns an ONNX op into lamina layers: CONVERTERS maps op_type -> convert.

    @converts("Relu")
    def relu(node, graph):          # node: graph_state.Node; graph: graph_state.ImportGraph
        return [graph.call(L.ReLU(name=graph.layer_name(node)), graph.tensor(node, 0))]

A converter returns one value per output of the node it uses (a symbolic tensor, or None for
an optional output nothing reads); it may raise graph.error(node, ...) for attributes lamina
cannot express. Each op family registers its converters in its own module of this package.
"""

CONVERTERS = {}


def converts(*op_types):
    """Register the decorated function as the converter of each op in op_types."""
    def register(convert):
        for op_type in op_types:
            CONVERTERS[op_type] = convert
        return convert
    return register
