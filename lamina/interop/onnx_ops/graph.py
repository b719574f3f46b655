"""OnnxGraph: the nodes, initializers and names of an ONNX graph being written.

Converters (one file per layer family in this package) add nodes through it:

    y = g.node("Gemm", [x, g.param("fc.weight", w), g.param("fc.bias", b)])

Every tensor name is unique (``fresh``); a parameter's initializer is named after its path
in the model's state_dict ("3.weight", "stage1_block1.0.body.1.gamma"), and a parameter
met twice (a layer shared by two nodes of a graph) is written once. Each tensor's element
type is tracked, so that converters write constants in the model's floating dtype.
"""

import numpy as np

from lamina.errors import ConfigError

FIRST_OPSET, LAST_OPSET = 17, 21  # LayerNormalization needs 17


class OnnxGraph:
    """A graph under construction; dtype: the model's floating dtype (float32 or float64);
    reserved: names fresh never gives (the graph's output names)."""

    def __init__(self, opset, dtype, reserved=()):
        self.opset, self.dtype = opset, np.dtype(dtype)
        self.reserved = set(reserved)  # the graph's output names, which only outputs take
        self.nodes, self.initializers = [], []
        self.types = {}  # tensor name -> numpy dtype
        self._params = {}  # initializer name -> the array it was made from
        self._counts = {}

    # -- names -------------------------------------------------------------------------
    def fresh(self, base):
        """A tensor or node name not used yet: base, then base_1, base_2, ..."""
        count = self._counts.get(base, 0)
        self._counts[base] = count + 1
        name = base if count == 0 else f"{base}_{count}"
        while name in self.types or name in self.reserved:
            count += 1
            name = f"{base}_{count}"
            self._counts[base] = count + 1
        return name

    def declare(self, name, dtype):
        """A graph input `name` of `dtype`, read by the first nodes."""
        self.types[name] = np.dtype(dtype)
        return name

    # -- nodes -------------------------------------------------------------------------
    def node(self, op_type, inputs, outputs=1, dtype=None, name=None, **attributes):
        """Add one node; returns its output name (a list of names when outputs > 1).

        dtype: the outputs' element type (default: the first input's), or a list of one per
        output; inputs may hold "" for an optional input left out. name: the layer's path
        ("0.conv1"); outputs are named "<name>/<op_type>", never an initializer's name."""
        base = f"{name}/{op_type}" if name else op_type
        names = [self.fresh(f"{base}:{k}" if outputs > 1 else base) for k in range(outputs)]
        first = next((self.types[i] for i in inputs if i), self.dtype)
        dtypes = dtype if isinstance(dtype, list) else [dtype] * outputs
        for out, out_type in zip(names, dtypes):
            self.types[out] = first if out_type is None else np.dtype(out_type)
        from onnx import helper  # the onnx extra: imported when a graph is written

        self.nodes.append(helper.make_node(op_type, list(inputs), names,
                                           name=self.fresh(f"node/{base}"), **attributes))
        return names[0] if outputs == 1 else names

    # -- initializers ------------------------------------------------------------------
    def param(self, name, array):
        """The initializer `name` holding `array` (a parameter or buffer), written once."""
        array = np.asarray(array)
        held = self._params.get(name)
        if held is not None:
            if held is not array and not np.array_equal(held, array):
                raise ConfigError(f"export_onnx: two different arrays claim the initializer "
                                  f"name {name!r}; parameter paths in a model must be unique")
            return name
        self._add_initializer(name, array)
        return name

    def const(self, array, base="const"):
        """A fresh initializer holding `array` as it is (its own dtype)."""
        name = self.fresh(base)
        array = np.asarray(array)
        self._add_initializer(name, array)
        return name

    def _add_initializer(self, name, array):
        from onnx import numpy_helper

        self._params[name] = array
        self.types[name] = array.dtype
        self.initializers.append(numpy_helper.from_array(np.require(array, requirements="C"),
                                                         name))

    def scalar(self, value, base="scalar"):
        """A 0-d constant in the model's floating dtype."""
        return self.const(np.array(value, self.dtype), base)

    def floats(self, array, base="const"):
        """A constant array in the model's floating dtype."""
        return self.const(np.asarray(array, self.dtype), base)

    def ints(self, values, base="ints"):
        """A 1-D int64 constant (shapes, axes, slice bounds)."""
        return self.const(np.asarray(values, np.int64).reshape(-1), base)

    # -- shape helpers ---------------------------------------------------------------
    def slice(self, x, starts, ends, axes):
        """x sliced along `axes` from `starts` to `ends` (int lists, or int64 tensor names)."""
        bounds = [value if isinstance(value, str) else self.ints(value, what)
                  for value, what in ((starts, "starts"), (ends, "ends"))]
        return self.node("Slice", [x, *bounds, self.ints(axes, "axes")])

    def shape(self, x, start=None, end=None):
        """Shape(x)[start:end] as an int64 tensor."""
        options = {k: v for k, v in (("start", start), ("end", end)) if v is not None}
        return self.node("Shape", [x], dtype=np.int64, **options)

    def scalar_of(self, x):
        """A one-element 1-D tensor as a 0-d one (Range's bounds)."""
        return self.node("Squeeze", [x, self.ints([0], "axes")])

    def reshape(self, x, shape):
        """Reshape to `shape`: a list of ints (0 copies the input's size there, -1 infers
        one) or an int64 tensor name."""
        target = shape if isinstance(shape, str) else self.ints(shape, "shape")
        return self.node("Reshape", [x, target])

    def affine(self, x, weight, bias=None):
        """x @ weight + bias over x's last axis (weight (in, out): lamina's Linear layout)."""
        out = self.node("MatMul", [x, weight])
        return out if not bias else self.node("Add", [out, bias])
