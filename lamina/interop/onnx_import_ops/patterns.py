"""Op sequences exporters write for one lamina layer, fused into one node before building:

- MatMul(x, W) then Add(., b), W and b constants: one MatMul node with b as input 2 (a
  Linear with bias, named as the MatMul); the MatMul's output must feed only the Add.
- GELU at opset < 20, 0.5 * x * (1 + erf(x / sqrt(2))) in any order of the products and with
  x / sqrt(2) or x * (1 / sqrt(2)): one Gelu node. Each intermediate value must feed only
  the next step of the formula.
- SiLU, Mul(x, Sigmoid(x)): one SiLU node (an op name of lamina's, not ONNX's).
- Softplus with PyTorch's threshold as lamina's export_onnx writes it, Where(Greater(z, t), x,
  Softplus(z) [/ beta]) with z = x [* beta]: one Softplus node with beta and threshold.
- GroupNorm as exporters write it (lamina's and both of torch's): Reshape(x, [0, G, -1]),
  InstanceNormalization with scale 1 and bias 0, Reshape back to Shape(x), then optionally
  Mul(., gamma) and Add(., beta): one GroupNorm node (x, gamma, beta) with num_groups and
  epsilon (an op name of lamina's; ONNX's own GroupNormalization has a converter too).
- Nearest upsampling as lamina's export_onnx writes it for known H and W: Gather(Gather(x,
  rows, axis=2), cols, axis=3), rows and cols constant: one NearestUpsample node (an op name
  of lamina's) holding them.
In every pattern the intermediate values feed only the pattern's own nodes. A fused node is
named as the pattern's last node (the one export_onnx names after the layer), but for MatMul +
Add, named as the MatMul.
"""

import math

import numpy as np


class _Index:
    """Producers and consumers of each value name, for walking a pattern."""

    def __init__(self, nodes, outputs):
        self.producer = {name: node for node in nodes for name in node.outputs}
        self.consumers = {}
        for node in nodes:
            for name in node.inputs:
                self.consumers.setdefault(name, []).append(node)
        self.outputs = set(outputs)

    def private(self, nodes):
        """Whether the outputs of nodes[:-1] are read only inside `nodes` (and are no graph
        outputs): the pattern may replace them all."""
        inside = {id(node) for node in nodes}
        return all(name not in self.outputs and all(id(reader) in inside for reader in
                                                     self.consumers.get(name, []))
                   for node in nodes[:-1] for name in node.outputs)

    def only_consumer(self, name, op_type):
        """The one node reading `name` if it is an `op_type` (and name no graph output)."""
        readers = self.consumers.get(name, [])
        if len(readers) == 1 and readers[0].op_type == op_type and name not in self.outputs:
            return readers[0]
        return None


def _split(node, constants):
    """(the computed input's name, the constant's value) of a binary node, or (None, None)."""
    if node is None or len(node.inputs) != 2:
        return None, None
    a, b = node.inputs
    if (a in constants) == (b in constants):
        return None, None
    return (b, constants[a]) if a in constants else (a, constants[b])


def _is(value, number):
    return value is not None and np.size(value) == 1 and math.isclose(
        float(np.asarray(value).reshape(-1)[0]), number, rel_tol=1e-6)


def _producer(index, name, op_type):
    """The node making `name` if it is an `op_type`, else None."""
    node = index.producer.get(name)
    return node if node is not None and node.op_type == op_type else None


def _matmul_add(node, index, constants):
    """[MatMul, Add] -> one MatMul with the bias as input 2, or None."""
    if node.op_type != "MatMul" or node.inputs[1] not in constants or len(node.inputs) != 2:
        return None
    add = index.only_consumer(node.outputs[0], "Add")
    other, bias = _split(add, constants)
    width = np.shape(constants[node.inputs[1]])[-1:]
    if add is None or other != node.outputs[0] or np.size(bias) != (width or (0,))[0]:
        return None
    bias_name = next(name for name in add.inputs if name in constants)
    fused = node._replace(inputs=node.inputs + (bias_name,), outputs=add.outputs, proto=None)
    return fused, [node, add]


def _other(node, name):
    """The input of a binary node that is not `name`."""
    a, b = node.inputs
    return b if a == name else a


def _gelu(node, index, constants):
    """The nodes of 0.5 * x * (1 + erf(x / sqrt 2)) from its Erf -> (Gelu node, nodes), or None.

    After the Erf term, the products come in one of three orders: (x * term) * 0.5,
    (term * 0.5) * x, or term * (x * 0.5).
    """
    if node.op_type != "Erf":
        return None
    scale = index.producer.get(node.inputs[0])
    x, divisor = _split(scale, constants)
    if scale is None or not (scale.op_type == "Div" and _is(divisor, math.sqrt(2))
                             or scale.op_type == "Mul" and _is(divisor, 1 / math.sqrt(2))):
        return None
    add = index.only_consumer(node.outputs[0], "Add")
    product = add and index.only_consumer(add.outputs[0], "Mul")
    if product is None or not _is(_split(add, constants)[1], 1.0):
        return None
    other = _other(product, add.outputs[0])
    half = _producer(index, other, "Mul")
    if other == x or _is(constants.get(other), 0.5):
        last = index.only_consumer(product.outputs[0], "Mul")
        rest = last and _other(last, product.outputs[0])
        if last is None or not (_is(constants.get(rest), 0.5) if other == x else rest == x):
            return None
        parts = [scale, node, add, product, last]
    elif half is not None and _split(half, constants)[0] == x \
            and _is(_split(half, constants)[1], 0.5):
        last, parts = product, [scale, node, add, half, product]
    else:
        return None
    if not index.private(parts):
        return None
    return last._replace(op_type="Gelu", inputs=(x,), attributes={}, proto=None), parts


def _silu(node, index, constants):
    """[Sigmoid, Mul] -> SiLU, or None."""
    if node.op_type != "Mul" or len(node.inputs) != 2:
        return None
    for x, gate in (node.inputs, node.inputs[::-1]):
        sigmoid = index.producer.get(gate)
        if sigmoid is not None and sigmoid.op_type == "Sigmoid" and sigmoid.inputs[0] == x \
                and index.private([sigmoid, node]):
            return node._replace(op_type="SiLU", inputs=(x,), proto=None), [sigmoid, node]
    return None


def _softplus(node, index, constants):
    """Where(Greater(z, t), x, Softplus(z) [/ beta]), z = x [* beta] -> Softplus, or None."""
    if node.op_type != "Where":
        return None
    condition, x, soft = node.inputs
    greater = _producer(index, condition, "Greater")
    divide = _producer(index, soft, "Div")
    softplus = _producer(index, divide.inputs[0] if divide else soft, "Softplus")
    if greater is None or softplus is None or greater.inputs[0] != softplus.inputs[0]:
        return None
    z, threshold = greater.inputs[0], constants.get(greater.inputs[1])
    if threshold is None or np.size(threshold) != 1:
        return None
    if z == x:
        beta, scale = 1.0, None
        if divide is not None:
            return None
    else:
        scale = _producer(index, z, "Mul")
        source, beta = _split(scale, constants)
        if source != x or divide is None or _split(divide, constants)[0] != softplus.outputs[0] \
                or not _is(_split(divide, constants)[1], float(np.asarray(beta).reshape(-1)[0])):
            return None
    parts = [n for n in (scale, greater, softplus, divide) if n is not None] + [node]
    if not index.private(parts):
        return None
    attributes = {"beta": float(np.asarray(beta).reshape(-1)[0]),
                  "threshold": float(np.asarray(threshold).reshape(-1)[0])}
    return node._replace(op_type="Softplus", inputs=(x,), attributes=attributes,
                         proto=None), parts


def _group_norm(node, index, constants):
    """Reshape, InstanceNormalization, Reshape back [, Mul gamma, Add beta] -> GroupNorm."""
    if node.op_type != "InstanceNormalization":
        return None
    rows = _producer(index, node.inputs[0], "Reshape")
    target = None if rows is None else constants.get(rows.inputs[1])
    scale, bias = (constants.get(name) for name in node.inputs[1:3])
    if target is None or np.size(target) != 3 or target[0] != 0 or target[2] != -1 \
            or scale is None or bias is None or np.any(scale != 1) or np.any(bias != 0):
        return None
    x = rows.inputs[0]
    back = index.only_consumer(node.outputs[0], "Reshape")
    shape = None if back is None else _producer(index, back.inputs[1], "Shape")
    if shape is None or shape.inputs[0] != x or shape.attr("start", 0) != 0 \
            or shape.attr("end") is not None:
        return None
    parts, inputs = [rows, node, shape, back], (x,)
    multiply = index.only_consumer(back.outputs[0], "Mul")
    add = None if multiply is None else index.only_consumer(multiply.outputs[0], "Add")
    if add is not None and _split(multiply, constants)[0] == back.outputs[0] \
            and _split(add, constants)[0] == multiply.outputs[0]:
        gamma, beta = (next(name for name in n.inputs if name in constants)
                       for n in (multiply, add))
        parts, inputs = parts + [multiply, add], (x, gamma, beta)
    if not index.private(parts):
        return None
    attributes = {"num_groups": int(target[1]), "epsilon": node.attr("epsilon", 1e-5)}
    return parts[-1]._replace(op_type="GroupNorm", inputs=inputs, attributes=attributes,
                              proto=None), parts


def _gathered_rows_and_columns(node, index, constants):
    """Gather(Gather(x, rows, axis 2), cols, axis 3) -> NearestUpsample, or None."""
    if node.op_type != "Gather" or node.attr("axis", 0) not in (3, -1):
        return None
    rows = _producer(index, node.inputs[0], "Gather")
    if rows is None or rows.attr("axis", 0) not in (2, -2) or not index.private([rows, node]):
        return None
    picks = [constants.get(n.inputs[1]) for n in (rows, node)]
    if any(p is None or np.ndim(p) != 1 for p in picks) or rows.inputs[0] in constants:
        return None
    attributes = {"rows": tuple(int(i) for i in picks[0]), "cols": tuple(int(i) for i in picks[1])}
    return node._replace(op_type="NearestUpsample", inputs=rows.inputs[:1],
                         attributes=attributes, proto=None), [rows, node]


def fuse_patterns(nodes, constants, outputs):
    """nodes with each pattern replaced by its fused node (at its first node's place)."""
    for pattern in (_matmul_add, _gelu, _silu, _softplus, _group_norm,
                    _gathered_rows_and_columns):
        index = _Index(nodes, outputs)
        replaced = {}
        for node in nodes:
            found = pattern(node, index, constants)
            if found and not any(id(n) in replaced for n in found[1]):
                fused, parts = found
                first = min(parts, key=nodes.index)
                replaced.update({id(n): None for n in parts})
                replaced[id(first)] = fused
        nodes = [replaced.get(id(node), node) for node in nodes
                 if replaced.get(id(node), node) is not None]
    return nodes
