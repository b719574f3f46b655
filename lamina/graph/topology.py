"""From the tensors a Model is given to the Program it runs: order the nodes, check the graph.

Walking back from the outputs finds every node they depend on; a depth-first walk gives
them in an order where each node comes after the nodes producing its inputs. The checks
name the tensor or layer at fault: an argument that is not a symbolic tensor, an input
that is not an Input, an output that depends on an Input the model was not given, an
input no output uses, and a cycle (a node that depends on itself).
"""

from lamina.errors import GraphError
from lamina.graph.engine import Program, Step
from lamina.graph.tensor import InputLayer, SymbolicTensor

__all__ = ["tensor_list", "ordered_nodes", "compile_program"]


def tensor_list(where, what, value):
    """(list of symbolic tensors, single): a Model's `inputs` or `outputs` as a list, and
    whether it was given as one tensor (then forward takes and returns bare arrays)."""
    single = isinstance(value, SymbolicTensor)
    items = [value] if single else value
    if isinstance(items, dict):
        items = list(items.values())
    if not isinstance(items, (list, tuple)) or not items:
        raise GraphError(f"{where} expects {what} as a symbolic tensor or a non-empty list of "
                         f"them (from lamina.Input and layer calls). Received: {what}={value!r}")
    for i, item in enumerate(items):
        if not isinstance(item, SymbolicTensor):
            raise GraphError(f"{where} expects {what} as symbolic tensors (from lamina.Input and "
                             f"layer calls). Received: {what}[{i}], a {type(item).__name__}")
    return list(items), single


def ordered_nodes(where, inputs, outputs):
    """The nodes the outputs depend on, each after those producing its inputs (Input nodes
    excluded), after checking the graph (see the module doc)."""
    for i, tensor in enumerate(inputs):
        if not isinstance(tensor.node.layer, InputLayer):
            raise GraphError(f"{where}: inputs[{i}] is the {tensor.describe()}, not a "
                             f"lamina.Input; a model's inputs are the tensors lamina.Input made")
    given = {id(tensor) for tensor in inputs}
    order, done, active, reached = [], set(), set(), set()

    def visit(tensor, path):
        node = tensor.node
        if isinstance(node.layer, InputLayer):
            if id(tensor) not in given:
                raise GraphError(f"{where}: the model output ({path[0].describe()}) depends on "
                                 f"{tensor.describe()}, which is not among the model's inputs "
                                 f"{[t.node.layer.name for t in inputs]}: pass it in inputs=")
            reached.add(id(tensor))
            return
        if id(node) in done:
            return
        if id(node) in active:
            raise GraphError(f"{where}: the graph has a cycle through "
                             f"{node.layer.describe()}: a layer's output feeds its own input")
        active.add(id(node))
        for source in node.inputs:
            visit(source, path)
        active.discard(id(node))
        done.add(id(node))
        order.append(node)

    for tensor in outputs:
        visit(tensor, [tensor])
    unused = [tensor.describe() for tensor in inputs if id(tensor) not in reached]
    if unused:
        raise GraphError(f"{where}: {', '.join(unused)} {'is' if len(unused) == 1 else 'are'} "
                         f"not used by any output; remove {'it' if len(unused) == 1 else 'them'} "
                         f"from inputs= or connect {'it' if len(unused) == 1 else 'them'}")
    return order


def compile_program(inputs, outputs, nodes):
    """The Program over slots numbered per tensor (inputs first)."""
    slots = {}

    def slot(tensor):
        return slots.setdefault(id(tensor), len(slots))

    input_slots = [slot(tensor) for tensor in inputs]
    steps = [Step(node.layer, [slot(t) for t in node.inputs], [slot(t) for t in node.outputs])
             for node in nodes]
    return Program(steps, input_slots, [slot(tensor) for tensor in outputs])
