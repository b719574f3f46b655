"""The engine: a graph of layer calls run forward in order and backward in reverse.

A Program is a list of Steps in topological order over numbered slots (one per tensor):
each Step is one call of a layer, reading its input slots and writing its output slots.
``Program.chain(layers)`` is Sequential's (each layer reads the previous one's output);
``Program.from_nodes`` is a graph Model's (lamina.graph.topology orders the nodes).

The protocol the engine holds every layer to:
- ``forward(*inputs)`` returns one array, or a tuple of arrays for a layer with several
  outputs (MaxPool2D(return_index=True): values and indices). In a chain a layer's first
  output is passed on (``first_output``).
- ``backward(*douts)`` takes one gradient per floating-point output and returns one per
  floating-point input (bare for one, a tuple for several): integer tensors (pooling
  indices, token ids) carry no gradient. A layer whose ``can_skip_input_grad`` is True takes
  ``input_grad=False`` and then returns None, skipping work: the engine asks for it where no
  input needs a gradient (a model's first layer in training).
- A tensor used by several steps receives the sum of their gradients, and a layer called at
  several steps (a shared layer) accumulates the gradients of all of them into its
  parameters: each of its steps runs in a cache_scope of its own, so its calls keep their
  caches apart (nested layers' too).
- ``forward_logits`` / ``backward_logits`` replace forward and backward at an output step
  whose softmax a loss takes fused (lamina.training decides it; see Layer.forward_logits).
"""

import numpy as np

from lamina.errors import GraphError
from lamina.layers.mode import cache_scope

__all__ = ["Step", "Program", "first_output"]


def first_output(value):
    """What a chain passes on from a layer's forward: its first output when it has several."""
    return value[0] if isinstance(value, tuple) else value


class Step:
    """One call of `layer`: reads the slots `inputs`, writes the slots `outputs`.

    shared: the layer is called at other steps too (so this step keeps its own caches);
    chained: a chain step, which passes on its layer's first output only."""

    __slots__ = ("layer", "inputs", "outputs", "shared", "chained")

    def __init__(self, layer, inputs, outputs, chained=False):
        self.layer, self.inputs, self.outputs = layer, tuple(inputs), tuple(outputs)
        self.shared, self.chained = False, chained


class Program:
    """Steps in order over slots; `inputs` and `outputs`: the slots of the model's inputs and
    outputs, in order (a slot may be an output twice, or be both an input and an output)."""

    def __init__(self, steps, inputs, outputs):
        self.steps, self.inputs, self.outputs = list(steps), tuple(inputs), tuple(outputs)
        calls = {}
        for step in self.steps:
            calls[id(step.layer)] = calls.get(id(step.layer), 0) + 1
        for step in self.steps:
            step.shared = calls[id(step.layer)] > 1
        self.output_steps = {}  # output position -> the step producing it (None for an input)
        producer = {slot: step for step in self.steps for slot in step.outputs}
        for position, slot in enumerate(self.outputs):
            self.output_steps[position] = producer.get(slot)
        self.consumers = {}
        for step in self.steps:
            for slot in step.inputs:
                self.consumers[slot] = self.consumers.get(slot, 0) + 1

    @classmethod
    def chain(cls, layers):
        """Layer i reads slot i and writes slot i + 1 (its first output)."""
        steps = [Step(layer, (i,), (i + 1,), chained=True) for i, layer in enumerate(layers)]
        return cls(steps, (0,), (len(steps),))

    def fusable(self, position):
        """The step whose softmax output `position` may give as logits, or None: a step
        whose layer ends in a softmax, writing one slot that nothing else reads."""
        step = self.output_steps.get(position)
        if step is None or len(step.outputs) != 1 or not step.layer.ends_in_softmax():
            return None
        slot = step.outputs[0]
        if self.consumers.get(slot, 0) or self.outputs.count(slot) > 1:
            return None
        return step

    # -- running -----------------------------------------------------------------------
    def forward(self, arrays, logits=()):
        """The outputs (a list in output order) for `arrays` (one per input), and the run's
        record for backward. logits: output positions given as logits (see fusable)."""
        values = dict(zip(self.inputs, arrays))
        fused = {id(self.output_steps[position]) for position in logits}
        floating, scopes = {slot: _floating(values[slot]) for slot in self.inputs}, {}
        for index, step in enumerate(self.steps):
            layer = step.layer
            run = layer.forward_logits if id(step) in fused else layer.forward
            args = [values[slot] for slot in step.inputs]
            if step.shared:
                scopes[index] = {}
                with cache_scope(scopes[index]):
                    out = run(*args)
            else:
                out = run(*args)
            if step.chained:
                out = first_output(out)
                values[step.outputs[0]] = out
                floating[step.outputs[0]] = _floating(out)
            else:
                outs = out if isinstance(out, tuple) else (out,)
                if len(outs) != len(step.outputs):
                    raise GraphError(f"{layer.describe()} returned {len(outs)} outputs where its "
                                     f"output_shape announced {len(step.outputs)}")
                for slot, value in zip(step.outputs, outs):
                    values[slot] = value
                    floating[slot] = _floating(value)
        shapes = {slot: (values[slot].shape, values[slot].dtype) for slot in values
                  if floating[slot]}
        return [values[slot] for slot in self.outputs], (floating, scopes, fused, shapes)

    def backward(self, record, douts, input_grad=True):
        """Gradients of the inputs (a list in input order, None for an integer input or one
        that needs none) from `douts` (one per output, None for an output without a loss),
        filling every parameter's grad on the way. input_grad=False returns Nones and skips
        the steps that only an input gradient would need."""
        floating, scopes, fused, shapes = record
        grads = {}
        for slot, dout in zip(self.outputs, douts):
            if dout is not None:
                grads[slot] = grads[slot] + dout if slot in grads else dout
        needs = self._needs_gradient(floating, input_grad)
        for index in range(len(self.steps) - 1, -1, -1):
            step = self.steps[index]
            received = [grads.pop(slot, None) for slot in step.outputs if floating[slot]]
            if all(grad is None for grad in received):
                continue
            layer = step.layer
            float_inputs = [slot for slot in step.inputs if floating[slot]]
            wanted = [slot in needs for slot in float_inputs]
            options = {}
            if not any(wanted):
                if not layer.parameters():
                    continue
                if layer.can_skip_input_grad:
                    options["input_grad"] = False
            received = [np.zeros(*shapes[slot]) if grad is None else grad
                        for slot, grad in zip([s for s in step.outputs if floating[s]], received)]
            run = layer.backward_logits if id(step) in fused else layer.backward
            if step.shared:
                with cache_scope(scopes[index]):
                    result = run(*received, **options)
            else:
                result = run(*received, **options)
            if options:
                continue
            results = (result,) if len(float_inputs) == 1 else result
            if not isinstance(results, tuple) or len(results) != len(float_inputs):
                raise GraphError(f"{layer.describe()}.backward must return one gradient per "
                                 f"floating-point input ({len(float_inputs)}, a tuple when "
                                 f"several). Received: {type(result).__name__}")
            for slot, grad, want in zip(float_inputs, results, wanted):
                if want and grad is not None:
                    grads[slot] = grads[slot] + grad if slot in grads else grad
        return [grads.get(slot) if input_grad else None for slot in self.inputs]

    def _needs_gradient(self, floating, input_grad):
        """The slots whose gradient some parameter (or, with input_grad, some input) needs."""
        needs = {slot for slot in self.inputs if floating[slot]} if input_grad else set()
        for step in self.steps:
            if step.layer.parameters() or any(slot in needs for slot in step.inputs):
                needs.update(slot for slot in step.outputs if floating.get(slot))
        return needs

    def walk_shapes(self, shapes):
        """The output shapes for input `shapes` (batch first, None for unknown sizes)."""
        known = dict(zip(self.inputs, (tuple(shape) for shape in shapes)))
        for step in self.steps:
            out = step.layer.output_shapes(*(known[slot] for slot in step.inputs))
            for slot, shape in zip(step.outputs, out):  # a chain step: the first
                known[slot] = tuple(shape)
        return [known[slot] for slot in self.outputs]


def _floating(value):
    return getattr(value, "dtype", None) is not None and value.dtype.kind in "fc"
