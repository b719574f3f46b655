"""How a layer's errors name it: describe(), shape_error(), and the wrapper that prefixes the
errors a forward or backward raises (a kernel's "conv2d_backward expects dout ...") with the
layer's description."""

import functools

from lamina.errors import LaminaError, ShapeError
from lamina.layers import hooks


def shape_text(name, shape):
    """How messages show a shape: "x.shape=(2, 3)" for an array, "input shape (None, 3)" for
    a shape that a model build walks through the layers."""
    return f"{name}={tuple(shape)}" if name.endswith(".shape") else f"{name} {tuple(shape)}"


def naming_the_layer(method, kind="forward"):
    """method (kind: "forward" or "backward"), with every lamina error it raises naming the
    layer, and its calls reported to the observers of lamina.layers.hooks while any is active.

    An error from a kernel ("conv2d_backward expects dout ...") gets the layer's description
    in front; one that already names this layer is left as it is. Either way the error keeps
    the layer in `error.layer`, so the containers it passes through leave it alone.
    """
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            if hooks.current.observers is None:
                return method(self, *args, **kwargs)
            return hooks.observed_call(kind, method, self, args, kwargs)
        except LaminaError as error:
            if getattr(error, "layer", None) is None:
                described = self.describe()
                if error.args and not str(error.args[0]).startswith(described):
                    error.args = (f"{described}: {error.args[0]}",) + error.args[1:]
                error.layer = self
            raise
    return wrapper


class Messages:
    """Layer's describe and shape_error (a mixin: it reads the layer's name, index, parent)."""

    def describe(self):
        """How error messages name this layer: "Conv2D 'conv1' (layer 0)" in a model; inside
        nested containers, the path from the outermost one, "Conv2D 'conv2d_1' (layer
        2.block.3)": the same path that prefixes its parameters in the outermost container's
        state_dict() ("2.block.3.weight"), so model.layers[2].block.layers[3] is the layer."""
        keys, layer, seen = [], self, set()
        while getattr(layer, "parent", None) is not None and id(layer) not in seen:
            seen.add(id(layer))
            keys.append(layer.parent.child_key(layer))
            layer = layer.parent
        if not keys and getattr(self, "index", None) is not None:
            keys = [str(self.index)]
        where = f" (layer {'.'.join(reversed(keys))})" if keys else ""
        return f"{type(self).__name__} '{self.name}'{where}"

    def shape_error(self, expected, received, got=None, fix=None, hint=None):
        """ShapeError("<this layer> expects <expected>. Received: <received>[. <hint>]"),
        keeping its parts for a model build, which also names the layer whose output did not
        fit (see Sequential.build): expected, got (what arrived, in a few words), fix (a
        change of this layer's arguments that would make it fit) and hint (a sentence on
        what to change instead, such as the data's layout)."""
        tail = f". {hint}." if hint else ""
        error = ShapeError(f"{self.describe()} expects {expected}. Received: {received}{tail}")
        error.layer, error.expected, error.got, error.fix = self, expected, got, fix
        error.hint = hint
        return error
