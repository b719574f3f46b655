"""Layer: the tier-2 base class. A layer owns Parameters and delegates its math to tier 1."""

import functools
import re

import numpy as np

from lamina import init
from lamina.backend import floatx
from lamina.errors import ConfigError, DTypeError, LaminaError, NotBuiltError, ShapeError
from lamina.functional.checks import check_int
from lamina.graph.tensor import record_call, symbolic_inputs
from lamina.layers import registry
from lamina.layers.config import Config
from lamina.layers.input_checks import InputChecks
from lamina.layers.messages import Messages, naming_the_layer
from lamina.layers.mode import current
from lamina.layers.weights import WeightAndBias
from lamina.parameter import Parameter
from lamina.shape_only import array_spec, shape_only_active


def snake_case(name):
    """'Conv2D' -> 'conv2d', 'BatchNorm1D' -> 'batch_norm1d' (default layer names)."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", name).lower()


def _freezing_what_it_builds(build):
    """build, after which the parameters it created are frozen if the layer is (trainable=False
    set before a lazy layer knew its input size)."""
    @functools.wraps(build)
    def wrapper(self, *args, **kwargs):
        result = build(self, *args, **kwargs)
        if not self.trainable:
            self._set_trainable(False)
        return result
    return wrapper


class Layer(InputChecks, Messages, Config, WeightAndBias):
    """Base class of every layer.

    forward(x) -> y caches what backward needs; backward(dout) -> dx adds each parameter's
    gradient into Parameter.grad. Subclasses list their Parameter attributes in
    `param_names` and non-trainable arrays (running statistics) in `buffer_names`, and
    create them with new_parameter / new_buffer, so that a shape-only build (lamina.shape_only,
    which load_model runs before allocating anything) sees their shapes without their memory.
    A layer whose input size is None builds its weights on first sight of a shape (`build`).
    Inside lamina.inference_mode a forward reads every layer as in eval mode and writes
    nothing on it, so threads may share a model for inference (lamina.layers.mode).
    Its input checks, error messages, config and weight helpers come from the mixins of
    input_checks, messages, config and weights; lamina's own subclasses register themselves
    for model files (lamina.layers.registry).
    """

    param_names = ()
    buffer_names = ()

    # False for a layer that mixes a batch's rows in eval mode: predict and evaluate then run
    # its model's batches whole instead of in pieces (lamina.predict_pieces)
    rows_independent = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for method in ("forward", "backward"):
            if method in cls.__dict__:
                setattr(cls, method, naming_the_layer(cls.__dict__[method], method))
        if "build" in cls.__dict__:
            setattr(cls, "build", _freezing_what_it_builds(cls.__dict__["build"]))
        if registry.is_lamina_class(cls):
            registry.add(cls, cls.__name__)  # lamina's own layers: the bare name (registry)

    def __init__(self, name=None):
        if name is not None and not isinstance(name, str):
            raise ConfigError(f"{type(self).__name__} expects name as a string. Received: {name!r}")
        self.auto_named = name is None
        self.name = name if name is not None else snake_case(type(self).__name__)
        self.training = True
        self.built = True
        self.index = None  # position in the parent container, for error messages
        self.parent = None  # the container holding this layer (see describe)

    # -- computation -------------------------------------------------------------------
    def forward(self, x):
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, dout):
        raise NotImplementedError(f"{type(self).__name__}.backward")

    def __call__(self, *args, **kwargs):
        """forward on arrays; on symbolic tensors (lamina.Input), a node of a graph."""
        tensors = symbolic_inputs(self, args)
        if tensors is None:
            return self.forward(*args, **kwargs)
        return record_call(self, tensors, kwargs)

    # True when backward(dout, input_grad=False) skips dx and returns None (the engine asks
    # for it where no input needs a gradient: a model's first layer in training).
    can_skip_input_grad = False

    def ends_in_softmax(self):
        """Whether forward ends in a softmax over axis 1 that forward_logits leaves out (so a
        cross-entropy loss may take the logits: exact for any logits, and no softmax twice)."""
        return False

    def forward_logits(self, x):
        """forward without its final softmax (for a layer whose ends_in_softmax() is True)."""
        raise NotImplementedError(f"{type(self).__name__} does not end in a softmax")

    def backward_logits(self, dout, input_grad=True):
        """backward of forward_logits."""
        raise NotImplementedError(f"{type(self).__name__} does not end in a softmax")

    @property
    def training(self):
        """The layer's own mode (set by train() / eval()); False while this thread is inside
        inference_mode, whatever the flag says."""
        return self._training if current.caches is None else False

    @training.setter
    def training(self, mode):
        self._training = mode

    @property
    def _cache(self):
        """What forward saved for backward; a clear error when backward comes first.

        Inside inference_mode it is this thread's (see lamina.layers.mode)."""
        caches = current.scope
        if caches is None:
            caches = current.caches
        try:
            return self.__dict__["_forward_cache"] if caches is None else caches[id(self)]
        except KeyError:
            where = " in this inference_mode block" if caches is not None else ""
            raise LaminaError(f"{self.describe()}: backward was called before forward{where}. "
                              f"Run forward on the batch first.") from None

    @_cache.setter
    def _cache(self, value):
        scope = current.scope
        if scope is not None:
            scope[id(self)] = value
            return
        caches = current.caches
        if caches is None:
            self.__dict__["_forward_cache"] = value
        else:
            caches[id(self)] = value
            current.kept.pop(id(self), None)

    def check_size(self, name, value, allow_none=False, minimum=1):
        """Constructor check: value must be an int >= minimum (or None where it is inferred)."""
        return check_int(type(self).__name__, name, value, minimum,
                         alternatives=(None,) if allow_none else ())

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

    def output_shapes(self, *input_shapes):
        """The shape of each of forward's outputs, a list (a graph makes one tensor per
        entry): [output_shape(...)] for a layer with one output."""
        shape = self.output_shape(*input_shapes)
        return shape if isinstance(shape, list) else [shape]

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

    @property
    def trainable(self):
        """Whether training updates this layer's parameters (Keras' ``layer.trainable``).

        ``layer.trainable = False`` freezes them (Parameter.trainable, which optimizers,
        weight penalties and the NaN check follow; summary counts them as non-trainable),
        those of every layer inside a container too, and those a lazy layer creates when it
        is built; True unfreezes them all again. Gradients still flow through a frozen layer
        to the layers before it. As in Keras 3, a frozen batch norm also normalises with its
        running statistics and leaves them alone, in training too. Kept in model files.
        """
        return self.__dict__.get("_trainable", True)

    @trainable.setter
    def trainable(self, value):
        self._set_trainable(value)

    def _set_trainable(self, value):
        """Set this layer's flag and its own parameters' (a container: not its children's)."""
        if not isinstance(value, (bool, np.bool_)):
            raise ConfigError(f"{self.describe()}.trainable expects True or False. "
                              f"Received: {value!r}")
        self.__dict__["_trainable"] = bool(value)
        for name in self.param_names:
            if isinstance(p := getattr(self, name, None), Parameter):
                p.trainable = bool(value)

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
        self.require_built("state_dict")
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
        self.require_built("load_state_dict")
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
        self.require_built("set_weights")
        names = [name for name, _ in self.named_parameters()] + list(self.buffers())
        if not isinstance(weights, (list, tuple)) or len(weights) != len(names):
            received = (len(weights) if isinstance(weights, (list, tuple))
                        else type(weights).__name__)
            raise ConfigError(f"{self.describe()}.set_weights expects a list of {len(names)} "
                              f"arrays ({names}). Received: {received}")
        self.load_state_dict(dict(zip(names, weights)))

    def require_built(self, what):
        if not self.built:
            raise NotBuiltError(f"{self.describe()} has no weights yet: its input size is inferred "
                                f"when it is built. Call build(input_shape) or run it on a batch "
                                f"before {what}().")

    # -- creating state ----------------------------------------------------------------------
    @staticmethod
    def new_parameter(name, shape, initializer, fan_in=None, fan_out=None, regularizer=None):
        """A floatx() Parameter of `shape` drawn from `initializer` (a lamina.init name or
        function); in a shape-only build, one holding an ArraySpec (nothing drawn or allocated)."""
        draw = init.get(initializer)
        value = (array_spec(shape, floatx()) if shape_only_active()
                 else draw(tuple(shape), fan_in=fan_in, fan_out=fan_out))
        return Parameter(value, name, regularizer=regularizer)

    @staticmethod
    def new_buffer(shape, fill, dtype=None):
        """A buffer of `shape` filled with `fill` (dtype default floatx()); an ArraySpec in a
        shape-only build."""
        dtype = floatx() if dtype is None else dtype
        return array_spec(shape, dtype) if shape_only_active() else np.full(shape, fill, dtype)
