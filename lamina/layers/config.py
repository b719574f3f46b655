"""A layer's config: its constructor arguments by name (get_config), which a model file stores
and ``type(layer)(**config)`` rebuilds it from, and the repr that shows them."""

import functools
import inspect

from lamina import regularizers
from lamina.parameter import Parameter


@functools.lru_cache(maxsize=None)
def constructor_arguments(cls):
    """The names of cls.__init__'s arguments but self, in order (looked up once per class:
    activations read their hyper-parameters through get_config on every forward)."""
    return tuple(arg for arg in inspect.signature(cls.__init__).parameters if arg != "self")


class Config:
    """Layer's get_config and __repr__ (a mixin: every constructor argument is an attribute of
    the same name; a Parameter stands for bias=True, a Regularizer for its serialized dict)."""

    def get_config(self):
        """Constructor arguments by name, so that ``type(layer)(**config)`` rebuilds the layer."""
        config = {}
        for arg in constructor_arguments(type(self)):
            value = getattr(self, arg)
            if isinstance(value, Parameter) or (arg == "bias" and value is None):
                value = value is not None
            elif isinstance(value, regularizers.Regularizer):
                value = regularizers.serialize(value)
            config[arg] = list(value) if isinstance(value, tuple) else value
        return config

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"
