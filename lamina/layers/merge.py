"""Merge layers: several tensors combined into one (Add, Subtract, Multiply, Average,
Concatenate), in a graph or over branches.

In a graph a merge layer takes the tensors it is called on: ``L.Add()([a, b])``, and its
backward returns one gradient per input. Given branches, it is a container: each branch is
any layer (an empty ``Sequential([])`` is the identity), the input fans out to every branch,
so its gradient is the sum of theirs: dx = sum_k branch_k.backward(dy_k). Parameters and
buffers are named by branch position, as in any container: "1.0.weight".

    inception = Concat([Conv2D(8, 4, 1), Sequential([Conv2D(8, 4, 1), Conv2D(4, 6, 3, padding=1)])])
    excite = Multiply([Sequential([]), Sequential([AvgPool2D(7), Conv2D(8, 8, 1), Sigmoid()])])
"""

import numpy as np

from lamina.errors import ConfigError, ShapeError
from lamina.functional.checks import check_dout, check_int
from lamina.graph.engine import first_output
from lamina.layers.container import Container, deserialize, serialize


class Merge(Container):
    """Base of the merge layers: y = combine(x_1, ..., x_K), K >= 2.

    Called on several tensors in a graph (``Add()([a, b])``), forward(*arrays) takes one
    array per input and backward(dout) returns a tuple, one gradient per input. Given
    `branches` (``Add([block, Sequential([])])``), it is a container instead: every branch
    takes the one input x, x_k = branch_k(x), and backward returns dx, the sum of the
    branches' input gradients. The math (combine, split) is the same either way.

    A subclass defines merged_shape(shapes) (and raises a ShapeError naming the layer when
    the shapes do not fit together), combine(arrays) -> (y, cache) and split(dout, cache)
    -> one gradient per input.
    """

    chained = False

    def __init__(self, branches=None, name=None):
        if branches is not None and (not isinstance(branches, (list, tuple))
                                     or len(branches) < 2):
            raise ConfigError(f"{type(self).__name__} expects no branches (then it merges the "
                              f"tensors it is called on) or a list of at least 2 branch layers "
                              f"(Sequential([]) is the identity). Received: {branches!r}")
        super().__init__(branches, name)

    @property
    def branches(self):
        return self.layers

    def build(self, *input_shapes):
        """Build each lazy branch for the shared input; returns (and so checks) the output shape."""
        for branch in self.layers:
            if not branch.built:
                branch.build(tuple(input_shapes[0]))
        return self.output_shape(*input_shapes)

    def output_shape(self, *input_shapes):
        if not self.layers:
            if len(input_shapes) < 2:
                raise self._too_few(input_shapes)
            return self.merged_shape([tuple(shape) for shape in input_shapes])
        return self.merged_shape([tuple(branch.output_shapes(tuple(input_shapes[0]))[0])
                                  for branch in self.layers])

    def forward(self, *inputs):
        if self.layers:
            x = self.check_input(inputs[0])
            inputs = [first_output(branch.forward(x)) for branch in self.layers]
        else:
            if len(inputs) == 1 and isinstance(inputs[0], (list, tuple)):
                inputs = inputs[0]  # an eager call on a list, as on a list of tensors
            if len(inputs) < 2:
                raise self._too_few([getattr(array, "shape", None) for array in inputs])
            inputs = [self.check_input(array) for array in inputs]
        self.merged_shape([array.shape for array in inputs])
        y, cache = self.combine(inputs)
        self._cache = (y.shape, cache)
        return y

    def backward(self, dout):
        shape, cache = self._cache
        dout = check_dout(self.describe(), dout, shape)
        grads = self.split(dout, cache)
        if not self.layers:
            return tuple(grads)
        dx = None
        for branch, grad in zip(self.layers, grads):
            dbranch = branch.backward(grad)
            # `+` makes a new array: an identity branch hands back dout itself, never written to
            dx = dbranch if dx is None else dx + dbranch
        return dx

    def get_config(self):
        branches = [serialize(branch) for branch in self.layers] if self.layers else None
        return {"branches": branches, "name": self.name}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if config.get("branches") is not None:
            config["branches"] = [deserialize(spec) for spec in config["branches"]]
        return cls(**config)

    def _too_few(self, shapes):
        shapes = [None if shape is None else tuple(shape) for shape in shapes]
        return ShapeError(f"{self.describe()} merges at least 2 inputs (or, given branches, "
                          f"takes one). Received: {len(shapes)}, of shapes {shapes}")

    def _shape_error(self, expected, shapes):
        what = "branch outputs" if self.layers else "inputs"
        return ShapeError(f"{self.describe()} expects {what} {expected}. "
                          f"Received: {what[:-1]} shapes "
                          f"{[None if s is None else tuple(s) for s in shapes]}")


def sum_to_shape(grad, shape):
    """Sum grad over the axes where `shape` has size 1 and grad does not (undoes broadcasting)."""
    axes = tuple(i for i, (g, s) in enumerate(zip(grad.shape, shape)) if s == 1 and g != 1)
    return grad.sum(axis=axes, keepdims=True) if axes else grad


class _Broadcasting(Merge):
    """Elementwise merges: branch outputs of one rank, each axis equal or 1 (NumPy broadcasting)."""

    def merged_shape(self, shapes):
        if len({len(shape) for shape in shapes}) > 1:
            raise self._shape_error("of one rank", shapes)
        result = []
        for sizes in zip(*shapes):
            known = {size for size in sizes if size not in (None, 1)}
            if len(known) > 1:
                raise self._shape_error("that broadcast (each axis equal or 1)", shapes)
            result.append(known.pop() if known else (None if None in sizes else 1))
        return tuple(result)


class Add(_Broadcasting):
    """y = sum_k branch_k(x), broadcasting size-1 axes as NumPy.

    Backward: branch k receives dout summed over the axes its output was broadcast along.
    For y = block(x) + x with equal shapes enforced, see Residual.
    """

    def combine(self, outputs):
        y = outputs[0]
        for out in outputs[1:]:
            y = y + out
        return y, [out.shape for out in outputs]

    def split(self, dout, shapes):
        return [sum_to_shape(dout, shape) for shape in shapes]


class Multiply(_Broadcasting):
    """y = prod_k branch_k(x), broadcasting size-1 axes as NumPy (e.g. an (N, C, 1, 1) gate
    against (N, C, H, W) features: squeeze-and-excitation).

    Backward: dy_k = dout * prod_{j != k} branch_j(x), summed back to branch k's shape. The
    product of the others is formed directly (never y / y_k), so it is exact where y_k = 0.

    >>> from lamina import Sequential
    >>> Multiply([Sequential([]), Sequential([])]).forward(np.array([[1.0, -2.0]]))  # x * x
    array([[1., 4.]])
    """

    def combine(self, outputs):
        y = outputs[0]
        for out in outputs[1:]:
            y = y * out
        return y, outputs

    def split(self, dout, outputs):
        grads = []
        for k, out in enumerate(outputs):
            grad = dout
            for j, other in enumerate(outputs):
                if j != k:
                    grad = grad * other
            grads.append(sum_to_shape(grad, out.shape))
        return grads


class Concatenate(Merge):
    """Inputs (or branch outputs) joined along `axis` (default 1, the channels of NCHW), as
    torch.cat and Keras' Concatenate.

    Shapes must agree on every other axis; the batch axis 0 cannot be joined.
    Backward: dout is split along `axis` at the branches' sizes, one piece per branch.

    >>> from lamina.layers import Conv2D
    >>> Concat([Conv2D(3, 2, 1), Conv2D(3, 5, 3, padding=1)]).output_shape((None, 3, 8, 8))
    (None, 7, 8, 8)
    """

    def __init__(self, branches=None, axis=1, name=None):
        if isinstance(branches, (int, np.integer)) and not isinstance(branches, bool):
            branches, axis = None, branches  # Concatenate(2): Keras' positional axis
        self.axis = check_int(type(self).__name__, "axis", axis)
        super().__init__(branches, name)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}

    def merged_shape(self, shapes):
        rank = len(shapes[0])
        axis = self.axis + rank if self.axis < 0 else self.axis
        if not 1 <= axis < rank:
            raise self._shape_error(f"with an axis {self.axis} that is not the batch axis",
                                    shapes)
        rest = {tuple(s[:axis]) + tuple(s[axis + 1:]) for s in shapes}
        if len(rest) > 1 or any(len(s) != rank for s in shapes):
            raise self._shape_error(f"equal on every axis but {self.axis}", shapes)
        sizes = [s[axis] for s in shapes]
        joined = None if None in sizes else sum(sizes)
        return tuple(shapes[0][:axis]) + (joined,) + tuple(shapes[0][axis + 1:])

    def combine(self, outputs):
        sizes = [out.shape[self.axis] for out in outputs]
        return np.concatenate(outputs, axis=self.axis), np.cumsum(sizes)[:-1]

    def split(self, dout, boundaries):
        return np.split(dout, boundaries, axis=self.axis)


class Subtract(_Broadcasting):
    """y = x_1 - x_2 (exactly two inputs), broadcasting size-1 axes as NumPy.

    Backward: dx_1 = dout, dx_2 = -dout, each summed back to its input's shape."""

    def merged_shape(self, shapes):
        if len(shapes) != 2:
            raise self._shape_error("from exactly 2 inputs", shapes)
        return super().merged_shape(shapes)

    def combine(self, inputs):
        return inputs[0] - inputs[1], [a.shape for a in inputs]

    def split(self, dout, shapes):
        return [sum_to_shape(dout, shapes[0]), sum_to_shape(-dout, shapes[1])]


class Average(_Broadcasting):
    """y = (x_1 + ... + x_K) / K, broadcasting size-1 axes as NumPy.

    Backward: dx_k = dout / K, summed back to x_k's shape."""

    def combine(self, inputs):
        y, _ = Add.combine(self, inputs)
        return y / y.dtype.type(len(inputs)), [a.shape for a in inputs]

    def split(self, dout, shapes):
        share = dout / dout.dtype.type(len(shapes))
        return [sum_to_shape(share, shape) for shape in shapes]


class Concat(Concatenate):
    """Concatenate under the name of earlier releases (model files saved it so)."""
