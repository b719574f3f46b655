"""Containers: layers made of layers (Sequential here; Residual, Concat build on the same base).

A container owns an ordered list of children. Parameters, buffers, train/eval and get_config
all recurse into them, with names such as "0.weight" (the child's position, then its own name).
"""

import numpy as np

from lamina.errors import ConfigError
from lamina.layers.base import Layer
from lamina.layers.registry import deserialize, serialize


def walk_layers(layer):
    """layer and every layer inside it (any `layers` list, graph models' too), depth first."""
    yield layer
    for child in getattr(layer, "layers", ()):
        yield from walk_layers(child)


class Container(Layer):
    """A layer whose parameters are those of its children, in order.

    chained: True when each child takes the previous child's output (Sequential); False when
    every child takes the container's own input (branches of Residual, Add, Concat, ...).
    """

    chained = True

    def __init__(self, layers=None, name=None):
        super().__init__(name)
        self.layers = []
        for layer in layers or []:
            self.add(layer)

    def add(self, layer):
        """Append a layer (alias add_layer, as in the seeds); returns self for chaining."""
        if not isinstance(layer, Layer):
            raise ConfigError(
                f"{self.describe()}.add expects a lamina Layer. Received: {type(layer).__name__}"
            )
        names = {existing.name for existing in self.layers}
        if layer.name in names:
            if not layer.auto_named:
                raise ConfigError(f"{self.describe()} already holds a layer named {layer.name!r}; "
                                  f"layer names must be unique. Received: {layer!r}")
            base, k = layer.name, 1
            while layer.name in names:
                layer.name, k = f"{base}_{k}", k + 1
        layer.index, layer.parent = len(self.layers), self
        self.layers.append(layer)
        return self

    add_layer = add

    def child_key(self, layer):
        """How describe() and parameter names ("3.weight") call a child: its position."""
        return str(layer.index)

    def child(self, key):
        """The child that child_key calls `key` (set_buffer finds a buffer's owner by it)."""
        return self.layers[int(key)]

    @property
    def built(self):
        return all(layer.built for layer in self.layers)

    @built.setter
    def built(self, value):
        pass  # derived from the children

    # -- state -------------------------------------------------------------------------
    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def named_parameters(self, prefix=""):
        return [item for layer in self.layers
                for item in layer.named_parameters(f"{prefix}{self.child_key(layer)}.")]

    def buffers(self, prefix=""):
        result = {}
        for layer in self.layers:
            result.update(layer.buffers(f"{prefix}{self.child_key(layer)}."))
        return result

    def set_buffer(self, name, value):
        key, rest = name.split(".", 1)
        self.child(key).set_buffer(rest, value)

    @Layer.trainable.setter
    def trainable(self, value):
        """Freeze (False) or unfreeze (True) every layer inside, as Keras does."""
        self._set_trainable(value)
        for layer in self.layers:
            layer.trainable = value

    def train(self, mode=True):
        self.training = mode
        for layer in self.layers:
            layer.train(mode)
        return self

    def get_config(self):
        return {"layers": [serialize(layer) for layer in self.layers], "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls([deserialize(spec) for spec in config["layers"]], name=config.get("name"))

    @staticmethod
    def _param_count(layer):
        """A layer's parameters and buffers, or "?" before it is built."""
        if not layer.built:
            return "?"
        return sum(p.size for p in layer.parameters()) + \
            sum(np.size(b) for b in layer.buffers().values())

    def summary_rows(self, input_shape=None):
        """(header, rows) of summary: each child's name (type), output shape and count."""
        if input_shape is None:
            input_shape = getattr(self, "input_shape", None)
        given = tuple(input_shape) if input_shape is not None else None
        shape, rows = given, []
        for layer in self.layers:
            if shape is not None:  # a chain feeds each child the last output; branches share x
                shape = tuple(layer.output_shapes(shape if self.chained else given)[0])
            rows.append((f"{layer.name} ({type(layer).__name__})", str(shape or "?"),
                         str(self._param_count(layer))))
        return ("Layer (type)", "Output shape", "Params"), rows

    def summary(self, input_shape=None, print_fn=print):
        """Print each layer's name, type, output shape and parameter count, then the totals.

        Shapes come from `input_shape` (batch first, e.g. (None, 1, 28, 28)) or, once the
        model has been built or trained, from the shape it was built for. Non-trainable
        parameters are the buffers (batch-norm running statistics) and frozen parameters.
        An unbuilt model (lazy layers, in_features=None) shows "?" where a count is not known
        yet, the counts of the layers that are built, and says that it is not built.
        """
        header, rows = self.summary_rows(input_shape)
        given = input_shape if input_shape is not None else getattr(self, "input_shape", None)
        given = tuple(given) if given is not None else None
        widths = [max(len(r[i]) for r in rows + [header]) + 2 for i in range(len(header))]
        line = "".join(h.ljust(w) for h, w in zip(header, widths))
        print_fn(f"Model: {self.name!r}")
        print_fn(line)
        print_fn("=" * len(line))
        for row in rows:
            print_fn("".join(c.ljust(w) for c, w in zip(row, widths)))
        print_fn("=" * len(line))
        trainable = sum(p.size for p in self.parameters() if p.trainable)
        frozen = sum(p.size for p in self.parameters() if not p.trainable)
        buffers = sum(np.size(b) for b in self.buffers().values())
        total = trainable + frozen + buffers
        if self.built:
            print_fn(f"Total params: {total:,}")
            print_fn(f"Trainable params: {trainable:,}")
            print_fn(f"Non-trainable params: {frozen + buffers:,}")
            return
        lazy = ", ".join(layer.name for layer in self.layers if not layer.built)
        print_fn(f"Total params: ? (not built: {lazy} infer their input size; {total:,} in "
                 f"the layers built so far)")
        print_fn(f"Trainable params: ? ({trainable:,} so far)")
        print_fn(f"Non-trainable params: ? ({frozen + buffers:,} so far)")
        print_fn(f"Call model.build({given or 'input_shape'}) (or fit) to create every weight "
                 f"and count them.")


def named_layers(layer, prefix=""):
    """(path, layer) for `layer` and every layer inside it, depth first: the path is the prefix
    its parameters and buffers carry in `layer`'s state_dict() ("2.block.3." for
    model.layers[2].block.layers[3]; "" for `layer` itself)."""
    yield prefix, layer
    for child in layer.layers if isinstance(layer, Container) else ():
        yield from named_layers(child, f"{prefix}{layer.child_key(child)}.")


class Composite(Container):
    """A container whose children are named attributes (``self_attn``, ``linear1``, ...), as
    the submodules of a torch module: parameters are named "self_attn.in_proj_weight".

    Subclasses list the attribute names in `child_names` and call ``super().__init__`` with
    the children in that order; forward and backward wire them as the layer's math needs.
    """

    chained = False
    child_names = ()

    def __init__(self, children, name=None):
        super().__init__(children, name)
        for key, layer in zip(self.child_names, self.layers):
            if not hasattr(type(self), key):  # a class may offer the child as a property
                setattr(self, key, layer)

    def child_key(self, layer):
        return self.child_names[layer.index]

    def child(self, key):
        return self.layers[self.child_names.index(key)]
