"""Layer: the tier-2 base class. A layer owns Parameters and delegates its math to tier 1."""

import functools
import inspect
import re

import numpy as np

from lamina import init, regularizers
from lamina.backend import floatx
from lamina.errors import ConfigError, DTypeError, LaminaError, NotBuiltError, ShapeError
from lamina.functional.checks import FLOAT_CHARS, as_float_array
from lamina.functional._windows import conv_output_size
from lamina.graph.tensor import record_call, symbolic_inputs
from lamina.layers import hooks
from lamina.layers.mode import current
from lamina.parameter import Parameter
from lamina.shape_only import array_spec, shape_only_active


def snake_case(name):
    """'Conv2D' -> 'conv2d', 'BatchNorm1D' -> 'batch_norm1d' (default layer names)."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", name).lower()


def shape_text(name, shape):
    """How messages show a shape: "x.shape=(2, 3)" for an array, "input shape (None, 3)" for
    a shape that a model build walks through the layers."""
    return f"{name}={tuple(shape)}" if name.endswith(".shape") else f"{name} {tuple(shape)}"


@functools.lru_cache(maxsize=None)
def constructor_arguments(cls):
    """The names of cls.__init__'s arguments but self, in order (looked up once per class:
    activations read their hyper-parameters through get_config on every forward)."""
    return tuple(arg for arg in inspect.signature(cls.__init__).parameters if arg != "self")


def looks_channels_last(shape):
    """Whether a 4-D `shape` (batch first, None for unknown sizes) reads as (N, H, W, C)
    images rather than lamina's (N, C, H, W): the last axis holds 1, 3 or 4 values (gray,
    RGB, RGBA), axis 1 holds more than 4, and read as NCHW the image would be narrower than
    it is high, (N, 28, 28, 1) as 28 channels of 28x1 pixels. A feature map of a network
    ((N, 64, 4, 4)) is square, so it does not qualify."""
    shape = tuple(shape)
    if len(shape) != 4 or None in shape[1:]:
        return False
    return shape[3] in (1, 3, 4) and shape[1] > 4 and shape[2] > shape[3]


CHANNELS_LAST_HINT = ("It looks channels-last (N, H, W, C), as Keras and TensorFlow lay out "
                      "images; lamina's image layers take channels first (N, C, H, W): "
                      "convert the images with x.transpose(0, 3, 1, 2)")


def channels_last_1d_hint(shape, size):
    """The hint for a 3-D input whose last axis holds exactly the `size` channels a
    channel-first layer (Conv1D, the 1-D pools, BatchNorm1D) expects on axis 1: probably
    Keras' (N, L, C) signals, which must be transposed, not taken as size shape[1]."""
    shape = tuple(shape)
    if len(shape) != 3 or size is None or shape[2] != size or shape[1] in (size, None):
        return None
    return (f"Its last axis holds the {size} channels expected: if x is laid out (N, L, C), as "
            f"Keras lays out sequences, convert it with x.transpose(0, 2, 1) (lamina takes "
            f"(N, C, L)); if it really is (N, C, L) with {shape[1]} channels, set "
            f"{{argument}}={shape[1]}")


def _naming_the_layer(method, kind):
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


class Layer:
    """Base class of every layer.

    forward(x) -> y caches what backward needs; backward(dout) -> dx adds each parameter's
    gradient into Parameter.grad. Subclasses list their Parameter attributes in
    `param_names` and non-trainable arrays (running statistics) in `buffer_names`, and
    create them with new_parameter / new_buffer, so that a shape-only build (lamina.shape_only,
    which load_model runs before allocating anything) sees their shapes without their memory.
    A layer whose input size is None builds its weights on first sight of a shape (`build`).
    Inside lamina.inference_mode a forward reads every layer as in eval mode and writes
    nothing on it, so threads may share a model for inference (lamina.layers.mode).
    """

    param_names = ()
    buffer_names = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for method in ("forward", "backward"):
            if method in cls.__dict__:
                setattr(cls, method, _naming_the_layer(cls.__dict__[method], method))
        if "build" in cls.__dict__:
            setattr(cls, "build", _freezing_what_it_builds(cls.__dict__["build"]))

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
        if value is None and allow_none:
            return value
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
            expected = f"an int >= {minimum}" + (" or None (inferred)" if allow_none else "")
            raise ConfigError(f"{type(self).__name__} expects {name} as {expected}. "
                              f"Received: {name}={value!r}")
        return int(value)

    def check_kernel_given(self, kernel_size, sizes):
        """kernel_size itself; a ConfigError when it is missing, as after Keras' argument order
        (Conv2D(32, 3): filters, kernel_size), which lamina's convolutions read as PyTorch's
        (in_channels, out_channels, kernel_size). sizes: the given size arguments by name."""
        if kernel_size is not None:
            return kernel_size
        op, values = type(self).__name__, list(sizes.values())
        keras = ", ".join(f"{name}={value!r}" for name, value in
                          zip(("filters", "kernel_size")[-len(values):], values))
        order = ", ".join(list(sizes) + ["kernel_size"])
        given = ", ".join(map(repr, values))
        raise ConfigError(
            f"{op} expects kernel_size after {' and '.join(sizes)}, in PyTorch's order ({order}, "
            f"...; in_channels=None infers the input's): Keras' order ({keras}) is "
            f"{op}(None, {given}) here. Received: {op}({given})")

    def build(self, input_shape):
        """Create weights for an input of `input_shape` (batch first). No-op for most layers."""
        self.built = True

    def build_when_known(self, input_size):
        """Build now for an input of `input_size` features/channels, or lazily if it is None."""
        if input_size is None:
            self.built = False
        else:
            self.build((None, input_size))

    def inferred_channels(self, input_shape):
        """input_shape[1], the channel count a lazy layer builds for (checked as check_shape
        checks it: never from an input that looks channels-last)."""
        self.check_shape(input_shape, dim=1)
        return int(input_shape[1])

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
        for arg in constructor_arguments(type(self)):
            value = getattr(self, arg)
            if isinstance(value, Parameter) or (arg == "bias" and value is None):
                value = value is not None
            elif isinstance(value, regularizers.Regularizer):
                value = regularizers.serialize(value)
            config[arg] = list(value) if isinstance(value, tuple) else value
        return config

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

    # -- input checks ----------------------------------------------------------------------
    # The constructor argument that sets the input size (in_features, in_channels, ...), for
    # the fix a model build suggests when the size does not match.
    size_argument = None

    def check_input(self, x, rank=None, layout=None, dim=None, size=None):
        """x as a float32/float64 NumPy array (a list or tuple converts as np.asarray would),
        with `rank` dimensions, x.shape[dim] == size and at least one example; else a clear
        error naming the layer. Returns the array."""
        if not (isinstance(x, np.ndarray) and x.dtype.char in FLOAT_CHARS):
            x = as_float_array(self.describe(), "x", x)
        if rank is not None or size is not None:
            self.check_shape(x.shape, rank, layout, dim, size, "x.shape")
        if x.shape[:1] == (0,):
            raise ShapeError(f"{self.describe()} expects a non-empty batch (an empty batch has "
                             f"nothing to compute). Received: x.shape={x.shape}")
        return x

    def check_shape(self, shape, rank=None, layout=None, dim=None, size=None, name="input shape"):
        """Raise a ShapeError unless `shape` (batch first, None for unknown sizes) has `rank`
        dimensions (an int or a tuple of them) and shape[dim] == size. forward checks x.shape,
        output_shape the shapes a model build walks through (name "input shape").

        Channels (dim=1) of an image that looks channels-last (looks_channels_last) are never
        taken at face value: a size mismatch suggests the transpose, not the size axis 1 holds,
        and a lazy layer (size None, not built) refuses to infer its size from it. Data that
        really is (N, C, L, 1) with C > 4 (a 1-D signal as a 2-D image) passes with the size
        given explicitly."""
        ranks = (rank,) if isinstance(rank, int) else rank
        if ranks is not None and len(shape) not in ranks:
            layout = f" {layout}" if layout else ""
            raise self.shape_error(f"input with {' or '.join(map(str, ranks))} dimensions{layout}",
                                   shape_text(name, shape))
        if size is None and dim == 1 and not self.built and looks_channels_last(shape):
            # a lazy layer would infer 28 channels from (N, 28, 28, 1) images and train
            raise self.shape_error(
                f"channels on axis 1 (N, C, H, W), to infer {self.size_argument}",
                shape_text(name, shape), hint=CHANNELS_LAST_HINT)
        if size is not None and (len(shape) <= dim or shape[dim] not in (size, None)):
            what = "channel" if dim == 1 and len(shape) >= 3 else "feature"
            got = shape[dim] if len(shape) > dim else None
            # a channels-last image gets the transpose, never a size that would let it train
            hint = CHANNELS_LAST_HINT if dim == 1 and looks_channels_last(shape) else None
            if dim == 1 and hint is None and channels_last_1d_hint(shape, size):
                hint = channels_last_1d_hint(shape, size).format(
                    argument=self.size_argument or "the channel count")
            fix = (f"{self.size_argument}={got}, or None to infer it"
                   if self.size_argument and got is not None and hint is None else None)
            raise self.shape_error(f"{size} {what}{'s' * (size != 1)} on axis {dim}",
                                   shape_text(name, shape),
                                   got=None if got is None else f"{got} {what}{'s' * (got != 1)}",
                                   fix=fix, hint=hint)

    def window_output_hw(self, shape, kernel, stride, padding, dilation=(1, 1),
                         name="input shape"):
        """(OH, OW) of a sliding window over `shape` (N, C, H, W), None where H or W is None;
        a ShapeError naming this layer when the window does not fit the padded input."""
        sizes = tuple(None if shape[2 + i] is None else conv_output_size(
            shape[2 + i], kernel[i], stride[i], padding[i], dilation[i]) for i in range(2))
        if any(size is not None and size < 1 for size in sizes):
            least = tuple(max(1, dilation[i] * (kernel[i] - 1) + 1 - 2 * padding[i])
                          for i in range(2))
            raise self.shape_error(
                f"a spatial size of at least {least[0]}x{least[1]} for its window (kernel "
                f"{tuple(kernel)}, dilation {tuple(dilation)}, padding {tuple(padding)})",
                shape_text(name, shape), got=f"spatial size {shape[2]}x{shape[3]}",
                hint=CHANNELS_LAST_HINT if looks_channels_last(shape) else None)
        return sizes

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

    # -- weight and bias, for the layers that have them (Linear, the convolutions) -----------
    def init_weight_and_bias(self, shape, bias_size, fan_in, fan_out):
        """Create `weight` with self.weight_init and, if self.bias is truthy, `bias` (bias_size,)."""
        fans = dict(fan_in=fan_in, fan_out=fan_out)
        self.weight = self.new_parameter("weight", shape, self.weight_init, **fans,
                                         regularizer=getattr(self, "kernel_regularizer", None))
        self.bias = self.new_parameter("bias", (bias_size,), self.bias_init, **fans,
                                       regularizer=getattr(self, "bias_regularizer", None)) \
            if self.bias else None

    def accumulate_weight_and_bias(self, dw, db):
        self.weight.accumulate(dw)
        if self.bias is not None:
            self.bias.accumulate(db)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"
