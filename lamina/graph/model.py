"""lamina.Model: a graph of layers with several inputs and outputs (Keras' functional API).

    image = lamina.Input((1, 28, 28), name="image")
    extra = lamina.Input((4,), name="extra")
    h = L.Concatenate(axis=1)([L.Flatten()(L.Conv2D(None, 8, 3)(image)), extra])
    model = lamina.Model([image, extra], [L.Linear(None, 10, name="digit")(h),
                                          L.Linear(None, 1, name="size")(h)])

The model's layers are its children (a layer called at several nodes is one child whose
parameters receive both gradients), named by their names: parameters "digit.weight".
forward takes one array per input (a list in input order, a dict by input name, or a bare
array for one input) and returns one per output (bare for one output); backward takes one
gradient per output and returns one per input. Training (compile, fit, evaluate, predict)
is lamina.training's, shared with Sequential.
"""

from lamina.errors import ConfigError, GraphError
from lamina.graph.tensor import Input
from lamina.graph.topology import compile_program, ordered_nodes, tensor_list
from lamina.layers.container import Container, deserialize, serialize
from lamina.training import Trainable

__all__ = ["Model"]


class Model(Container, Trainable):
    """A model from its input tensors (lamina.Input) to its output tensors; see the module doc.

    inputs / outputs: one symbolic tensor or a list of them (a dict's values, in order).
    input_names: the Inputs' names; output_names: the names of the layers producing the
    outputs (what loss, metric and data dicts are keyed by, and History's "<name>_loss").
    """

    chained = False
    can_skip_input_grad = True  # backward(..., input_grad=False) runs only what parameters need

    def __init__(self, inputs, outputs, name=None):
        where = f"{type(self).__name__}(name={name!r})" if name else type(self).__name__
        inputs, self._single_input = tensor_list(where, "inputs", inputs)
        outputs, self._single_output = tensor_list(where, "outputs", outputs)
        if len({id(tensor) for tensor in inputs}) != len(inputs):
            raise GraphError(f"{where}: an Input is listed twice in inputs "
                             f"{[t.node.layer.name for t in inputs]}")
        nodes = ordered_nodes(where, inputs, outputs)
        layers = []
        for node in nodes:
            if all(node.layer is not layer for layer in layers):
                layers.append(node.layer)
        super().__init__(layers, name)
        self.input_names = _unique_input_names(where, inputs, {layer.name for layer in layers})
        self.output_names = _output_names(outputs)
        self._inputs, self._outputs, self._nodes = inputs, outputs, nodes
        self.program = compile_program(inputs, outputs, nodes)
        self.input_shape = inputs[0].shape if len(inputs) == 1 else None
        self.input_shapes = [tensor.shape for tensor in inputs]
        self.input_dtypes = [tensor.dtype for tensor in inputs]

    @property
    def inputs(self):
        return list(self._inputs)

    @property
    def outputs(self):
        return list(self._outputs)

    @property
    def nodes(self):
        """Every layer call in run order, as lamina.graph.tensor.Node objects (each with
        its layer, inputs and outputs)."""
        return list(self._nodes)

    def child_key(self, layer):
        """A graph's children are called by their names: parameters "digit.weight"."""
        return layer.name

    def child(self, key):
        return next(layer for layer in self.layers if layer.name == key)

    # -- data in and out ---------------------------------------------------------------
    def input_list(self, where, inputs):
        """`inputs` (a dict by input name, a list in input order, or one array for a
        one-input model) as a list in input order; a GraphError naming what does not fit."""
        names = self.input_names
        if isinstance(inputs, dict):
            unknown = [key for key in inputs if key not in names]
            missing = [name for name in names if name not in inputs]
            if unknown or missing:
                raise GraphError(f"{where} expects a dict keyed by the model's input names "
                                 f"{names}. Unknown: {unknown}; missing: {missing}")
            return [inputs[name] for name in names]
        if isinstance(inputs, (list, tuple)) and (len(names) > 1 or len(inputs) == 1
                                                  and not _is_plain_list(inputs)):
            if len(inputs) != len(names):
                raise GraphError(f"{where} expects {len(names)} inputs {names}, in that order "
                                 f"(or a dict by name). Received: {len(inputs)} arrays")
            return list(inputs)
        if len(names) > 1:
            raise GraphError(f"{where} expects {len(names)} inputs {names}, as a list in that "
                             f"order or a dict by name. Received: one {type(inputs).__name__}")
        return [inputs]

    def _returned(self, values, single):
        return values[0] if single else list(values)

    # -- computation -------------------------------------------------------------------
    def forward(self, *inputs):
        """The outputs for the inputs (see input_list; several arrays may also come as
        separate arguments, as a graph calling this model as a layer passes them)."""
        arrays = self.input_list(f"{self.describe()}.forward",
                                 inputs[0] if len(inputs) == 1 else list(inputs))
        outputs, self._cache = self.program.forward(arrays)
        return self._returned(outputs, self._single_output)

    def backward(self, *douts, input_grad=True):
        """Gradients of the inputs (bare for one input) from one gradient per output (a list,
        or separate arguments); fills every parameter's grad."""
        return self._returned(self.program.backward(self._cache, self._dout_list(douts),
                                                    input_grad), self._single_input)

    def _dout_list(self, douts):
        douts = list(douts[0]) if len(douts) == 1 and isinstance(douts[0], (list, tuple)) \
            else list(douts)
        if len(douts) != len(self.output_names):
            raise GraphError(f"{self.describe()}.backward expects one gradient per output "
                             f"{self.output_names}. Received: {len(douts)}")
        return douts

    def ends_in_softmax(self):
        """A one-output model whose output a softmax makes (so it may give the logits)."""
        return self._single_output and self.program.fusable(0) is not None

    def forward_logits(self, *inputs):
        arrays = self.input_list(f"{self.describe()}.forward_logits",
                                 inputs[0] if len(inputs) == 1 else list(inputs))
        outputs, self._cache = self.program.forward(arrays, logits=(0,))
        return outputs[0]

    def backward_logits(self, dout, input_grad=True):
        return self._returned(self.program.backward(self._cache, [dout], input_grad),
                              self._single_input)

    def run(self, arrays, logits=()):
        """The outputs (a list) for `arrays` (a list in input order), with the outputs at
        positions `logits` given as logits; what training runs (lamina.training)."""
        outputs, self._cache = self.program.forward(arrays, logits)
        return outputs

    def run_backward(self, douts, input_grad=True):
        """The input gradients (a list) from one gradient per output (None: no loss there)."""
        return self.program.backward(self._cache, douts, input_grad)

    # -- shapes ------------------------------------------------------------------------
    def build(self, *input_shapes):
        """A graph is built when it is made (calling a layer on tensors builds it)."""
        return self.output_shape(*input_shapes)

    def output_shape(self, *input_shapes):
        shapes = self.program.walk_shapes(input_shapes)
        return shapes[0] if self._single_output else shapes

    def output_shapes(self, *input_shapes):
        return self.program.walk_shapes(input_shapes)

    # -- description -------------------------------------------------------------------
    def summary_rows(self, input_shape=None):
        """One row per node: name (type), output shape, parameters, connected to."""
        rows, counted = [], set()
        for tensor, name in zip(self._inputs, self.input_names):
            rows.append((f"{name} (Input)", str(tensor.shape), "0", ""))
        sources = {id(t): name for t, name in zip(self._inputs, self.input_names)}
        calls = {}
        for node in self._nodes:
            calls[id(node.layer)] = calls.get(id(node.layer), 0) + 1
        shared, seen = {key for key, count in calls.items() if count > 1}, {}
        for node in self._nodes:
            layer = node.layer
            count = self._param_count(layer) if id(layer) not in counted else "(shared)"
            counted.add(id(layer))
            shapes = [t.shape for t in node.outputs]
            connected = ", ".join(sources[id(t)] for t in node.inputs)
            number = seen[id(layer)] = seen.get(id(layer), -1) + 1
            for t in node.outputs:  # a shared layer's calls: "encode[0]", "encode[1]"
                label = f"{layer.name}[{number}]" if id(layer) in shared else layer.name
                sources[id(t)] = label if len(node.outputs) == 1 else f"{label}:{t.index}"
            rows.append((f"{layer.name} ({type(layer).__name__})",
                         str(shapes[0] if len(shapes) == 1 else shapes), str(count), connected))
        return ("Layer (type)", "Output shape", "Params", "Connected to"), rows

    def get_config(self):
        """The layers, the Inputs, every node (which tensors each layer call takes) and the
        outputs; tensors are [producer name, its call number, output index]."""
        calls, refs = {}, {}
        for tensor, name in zip(self._inputs, self.input_names):
            refs[id(tensor)] = [name, 0, 0]
        nodes = []
        for node in self._nodes:
            number = calls.get(id(node.layer), 0)
            calls[id(node.layer)] = number + 1
            nodes.append({"layer": node.layer.name, "inputs": [refs[id(t)] for t in node.inputs]})
            for tensor in node.outputs:
                refs[id(tensor)] = [node.layer.name, number, tensor.index]
        return {"name": self.name,
                "inputs": [{"name": name, "shape": list(t.shape[1:]), "dtype": t.dtype}
                           for t, name in zip(self._inputs, self.input_names)],
                "layers": [serialize(layer) for layer in self.layers],
                "nodes": nodes,
                "outputs": [refs[id(t)] for t in self._outputs],
                "single": [self._single_input, self._single_output]}

    @classmethod
    def from_config(cls, config):
        """The model get_config describes, its nodes replayed on fresh Inputs (the layers
        have fresh weights: load them separately, as load_model does)."""
        try:
            inputs = {spec["name"]: Input(spec["shape"], spec.get("dtype"), spec["name"])
                      for spec in config["inputs"]}
            layers = {}
            for spec in config["layers"]:
                layer = deserialize(spec)
                layers[layer.name] = layer
            produced = {(name, 0): [tensor] for name, tensor in inputs.items()}
            calls = {}
            for node in config["nodes"]:
                args = [produced[(ref[0], ref[1])][ref[2]] for ref in node["inputs"]]
                out = layers[node["layer"]](*args)
                number = calls.get(node["layer"], 0)
                calls[node["layer"]] = number + 1
                produced[(node["layer"], number)] = out if isinstance(out, list) else [out]
            outputs = [produced[(ref[0], ref[1])][ref[2]] for ref in config["outputs"]]
        except (KeyError, IndexError, TypeError) as error:
            raise ConfigError(f"{cls.__name__}.from_config: the config does not describe a "
                              f"graph ({type(error).__name__}: {error})") from None
        single_input, single_output = config.get("single", [False, False])
        ordered = [inputs[spec["name"]] for spec in config["inputs"]]
        return cls(ordered[0] if single_input else ordered,
                   outputs[0] if single_output else outputs, name=config.get("name"))


def _is_plain_list(value):
    """A list of numbers (one input's data as nested lists), not a list of arrays."""
    return isinstance(value, list) and bool(value) and not hasattr(value[0], "shape") \
        and not isinstance(value[0], (list, tuple))


def _unique_input_names(where, inputs, layer_names):
    names, taken = [], set(layer_names)
    for tensor in inputs:
        producer = tensor.node.layer
        name = producer.name
        if name in taken:
            if not producer.auto_named:
                raise GraphError(f"{where}: two inputs or an input and a layer share the name "
                                 f"{name!r}; names in a model must be unique")
            base, k = name, 1
            while name in taken:
                name, k = f"{base}_{k}", k + 1
            producer.name = name
        taken.add(name)
        names.append(name)
    return names


def _output_names(outputs):
    """Each output's name: its layer's (an Input's name when an input is an output), with
    "_<index>" for a layer's further outputs, and "_1", "_2" ... where names repeat."""
    names = []
    for tensor in outputs:
        layer = tensor.node.layer
        name = layer.name if tensor.index == 0 else f"{layer.name}_{tensor.index}"
        base, k = name, 1
        while name in names:
            name, k = f"{base}_{k}", k + 1
        names.append(name)
    return names

