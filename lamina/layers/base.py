"""Layer: the tier-2 base class. A layer owns Parameters and delegates its math to tier 1."""

import inspect
import re

import numpy as np

from lamina import init, regularizers
from lamina.errors import ConfigError, DTypeError, LaminaError, NotBuiltError, ShapeError
from lamina.parameter import Parameter


def snake_case(name):
    """'Conv2D' -> 'conv2d', 'BatchNorm1D' -> 'batch_norm1d' (default layer names)."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", name).lower()


class Layer:
    """Base class of every layer.

    forward(x) -> y caches what backward needs; backward(dout) -> dx adds each parameter's
    gradient into Parameter.grad. Subclasses list their Parameter attributes in
    `param_names` and non-trainable arrays (running statistics) in `buffer_names`.
    A layer whose input size is None builds its weights on first sight of a shape (`build`).
    """

    param_names = ()
    buffer_names = ()

    def __init__(self, name=None):
        if name is not None and not isinstance(name, str):
            raise ConfigError(f"{type(self).__name__} expects name as a string. Received: {name!r}")
        self.auto_named = name is None
        self.name = name if name is not None else snake_case(type(self).__name__)
        self.training = True
        self.built = True
        self.index = None  # position in the parent container, for error messages

    # -- computation -------------------------------------------------------------------
    def forward(self, x):
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, dout):
        raise NotImplementedError(f"{type(self).__name__}.backward")

    def __call__(self, x):
        return self.forward(x)

    @property
    def _cache(self):
        """What forward saved for backward; a clear error when backward comes first."""
        try:
            return self.__dict__["_forward_cache"]
        except KeyError:
            raise LaminaError(f"{self.describe()}: backward was called before forward. "
                              f"Run forward on the batch first.") from None

    @_cache.setter
    def _cache(self, value):
        self.__dict__["_forward_cache"] = value

    def check_size(self, name, value, allow_none=False, minimum=1):
        """Constructor check: value must be an int >= minimum (or None where it is inferred)."""
        if value is None and allow_none:
            return value
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
            expected = f"an int >= {minimum}" + (" or None (inferred)" if allow_none else "")
            raise ConfigError(f"{type(self).__name__} expects {name} as {expected}. "
                              f"Received: {name}={value!r}")
        return int(value)

    def build(self, input_shape):
        """Create weights for an input of `input_shape` (batch first). No-op for most layers."""
        self.built = True

    def build_when_known(self, input_size):
        """Build now for an input of `input_size` features/channels, or lazily if it is None."""
        if input_size is None:
            self.built = False
        else:
            self.build((None, input_size))

    def output_shape(self, input_shape):
        """Shape of forward's output for an input of `input_shape` (batch first, may be None)."""
        return tuple(input_shape)

    # -- state -------------------------------------------------------------------------
    def parameters(self):
        """The trainable Parameters, in a fixed order (weight before bias, scale before shift)."""
        return [p for name in self.param_names if isinstance(p := getattr(self, name, None), Parameter)]

    def named_parameters(self, prefix=""):
        return [(prefix + name, p) for name in self.param_names
                if isinstance(p := getattr(self, name, None), Parameter)]

    def buffers(self, prefix=""):
        """Non-trainable state arrays (e.g. running statistics) by name."""
        return {prefix + name: getattr(self, name) for name in self.buffer_names}

    def set_buffer(self, name, value):
        setattr(self, name, value)

    def zero_grad(self):
        for p in self.parameters():
            p.zero_grad()

    def train(self, mode=True):
        self.training = mode
        return self

    def eval(self):
        return self.train(False)

    def astype(self, dtype):
        """Convert parameters (and their gradients) and buffers to `dtype` in place; returns self."""
        for p in self.parameters():
            p.data = p.data.astype(dtype)
            p.grad = None if p.grad is None else p.grad.astype(dtype)
        for name, value in self.buffers().items():
            self.set_buffer(name, value.astype(dtype))
        return self

    def count_params(self):
        return sum(p.size for p in self.parameters())

    # -- saving and loading state ----------------------------------------------------------
    def state_dict(self):
        """Copies of every parameter, then every buffer, by name ("0.weight", "1.running_mean")."""
        self._require_built("state_dict")
        state = {name: p.data.copy() for name, p in self.named_parameters()}
        state.update((name, np.array(value, copy=True)) for name, value in self.buffers().items())
        return state

    def load_state_dict(self, state, strict=True):
        """Copy the arrays of `state` (name -> array) into the parameters and buffers.

        All or nothing: every check runs before anything changes. The names must be those
        of state_dict() (strict=False skips missing and unexpected names), and each array
        must have its entry's shape and dtype exactly: nothing is cast, so convert the layer
        (astype) or the arrays first. Returns (missing names, unexpected names).
        """
        self._require_built("load_state_dict")
        if not isinstance(state, dict):
            raise ConfigError(f"{self.describe()}.load_state_dict expects a dict of name -> array. "
                              f"Received: {type(state).__name__}")
        params = dict(self.named_parameters())
        current = {name: p.data for name, p in params.items()} | self.buffers()
        missing = [name for name in current if name not in state]
        unexpected = [name for name in state if name not in current]
        where = f"{self.describe()}.load_state_dict"
        if strict and (missing or unexpected):
            raise ConfigError(f"{where} expects the entries of state_dict(): {list(current)}. "
                              f"Missing: {missing}; unexpected: {unexpected}")
        arrays = {name: np.asarray(state[name]) for name in current if name in state}
        for what, error, attr in (("shape", ShapeError, "shape"), ("dtype", DTypeError, "dtype")):
            wrong = [f"{name}: expected {getattr(current[name], attr)}, received "
                     f"{getattr(array, attr)}" for name, array in arrays.items()
                     if getattr(array, attr) != getattr(current[name], attr)]
            if wrong:
                hint = "; convert with astype first" if what == "dtype" else ""
                raise error(f"{where}: {len(wrong)} of {len(arrays)} entries have the wrong "
                            f"{what} (nothing was loaded{hint}). Received: {'; '.join(wrong)}")
        for name, array in arrays.items():
            if name in params:
                params[name].data = array  # Parameter takes a private copy
            else:
                self.set_buffer(name, array.copy())
        return missing, unexpected

    def get_weights(self):
        """state_dict()'s arrays as a list (copies), Keras-style."""
        return list(self.state_dict().values())

    def set_weights(self, weights):
        """Load a list of arrays in get_weights() order (checked as load_state_dict)."""
        self._require_built("set_weights")
        names = [name for name, _ in self.named_parameters()] + list(self.buffers())
        if not isinstance(weights, (list, tuple)) or len(weights) != len(names):
            received = (len(weights) if isinstance(weights, (list, tuple))
                        else type(weights).__name__)
            raise ConfigError(f"{self.describe()}.set_weights expects a list of {len(names)} "
                              f"arrays ({names}). Received: {received}")
        self.load_state_dict(dict(zip(names, weights)))

    def _require_built(self, what):
        if not self.built:
            raise NotBuiltError(f"{self.describe()} has no weights yet: its input size is inferred "
                                f"when it is built. Call build(input_shape) or run it on a batch "
                                f"before {what}().")

    # -- description -------------------------------------------------------------------
    def get_config(self):
        """Constructor arguments by name, so that ``type(layer)(**config)`` rebuilds the layer."""
        config = {}
        for arg in inspect.signature(type(self).__init__).parameters:
            if arg == "self":
                continue
            value = getattr(self, arg)
            if isinstance(value, Parameter) or (arg == "bias" and value is None):
                value = value is not None
            elif isinstance(value, regularizers.Regularizer):
                value = regularizers.serialize(value)
            config[arg] = list(value) if isinstance(value, tuple) else value
        return config

    def describe(self):
        """"Conv2D 'conv1' (layer 0)": how error messages name this layer."""
        where = f" (layer {self.index})" if self.index is not None else ""
        return f"{type(self).__name__} '{self.name}'{where}"

    def check_input(self, x, rank=None, layout=None, dim=None, size=None):
        """Raise a clear error unless x is a floating array of `rank` with x.shape[dim] == size."""
        if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
            received = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
            raise DTypeError(f"{self.describe()} expects a floating NumPy array. Received: {received}")
        if rank is not None and x.ndim != rank:
            layout = f" {layout}" if layout else ""
            raise ShapeError(f"{self.describe()} expects input with {rank} dimensions{layout}. "
                             f"Received: x.shape={x.shape}")
        if dim is not None and (x.ndim <= dim or x.shape[dim] != size):
            what = "channels" if dim == 1 and x.ndim >= 3 else "features"
            raise ShapeError(f"{self.describe()} expects {size} {what} on axis {dim}. "
                             f"Received: x.shape={x.shape}")
        if x.shape[:1] == (0,):
            raise ShapeError(f"{self.describe()} received an empty batch. Received: x.shape={x.shape}")

    # -- weight and bias, for the layers that have them (Linear, the convolutions) -----------
    def init_weight_and_bias(self, shape, bias_size, fan_in, fan_out):
        """Create `weight` with self.weight_init and, if self.bias is truthy, `bias` (bias_size,)."""
        fans = dict(fan_in=fan_in, fan_out=fan_out)
        self.weight = Parameter(init.get(self.weight_init)(shape, **fans), "weight",
                                regularizer=getattr(self, "kernel_regularizer", None))
        self.bias = Parameter(init.get(self.bias_init)((bias_size,), **fans), "bias",
                              regularizer=getattr(self, "bias_regularizer", None)) if self.bias else None

    def accumulate_weight_and_bias(self, dw, db):
        self.weight.accumulate(dw)
        if self.bias is not None:
            self.bias.accumulate(db)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"
