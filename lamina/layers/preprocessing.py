"""Preprocessing layers, as Keras': Rescaling and Normalization (with adapt). Unlike the
augmentations they act the same in training and eval mode."""

import numpy as np

from lamina.errors import ConfigError, NotBuiltError
from lamina.functional import standardize as F
from lamina.functional.checks import as_float_array, check_bool, check_dout, check_real, is_int
from lamina.layers.base import Layer
from lamina.layers.messages import shape_text
from lamina.shape_only import shape_only_active


class Rescaling(Layer):
    """out = x * scale + offset, as Keras' Rescaling (pixels in [0, 255] to [0, 1]:
    Rescaling(1 / 255); to [-1, 1]: Rescaling(1 / 127.5, offset=-1)). Any shape."""

    can_skip_input_grad = True

    def __init__(self, scale, offset=0.0, name=None):
        super().__init__(name)
        self.scale = check_real(type(self).__name__, "scale", scale)
        self.offset = check_real(type(self).__name__, "offset", offset)

    def forward(self, x):
        x = self.check_input(x)
        self._cache = x.shape
        return x * self.scale + self.offset

    def backward(self, dout, input_grad=True):
        """dx = dout * scale (None with input_grad=False)."""
        dout = check_dout("backward", dout, self._cache)
        return dout * self.scale if input_grad else None


def _statistic(layer, name, value):
    """A given mean or variance (a number or nested lists of them) -> JSON-ready floats."""
    if value is None:
        return None
    try:
        array = np.asarray(value, np.float64)
    except (TypeError, ValueError):
        array = None
    if array is None or not np.isfinite(array).all() or (name == "variance" and (array < 0).any()):
        expected = "numbers >= 0" if name == "variance" else "finite numbers"
        raise ConfigError(f"{layer} expects {name} as a number or a list of {expected}. "
                          f"Received: {name}={value!r}")
    return array.tolist()


class Normalization(Layer):
    """out = (x - mean) / max(sqrt(variance), 1e-7), statistics per index of `axis`, as Keras'
    Normalization (invert=True: out = x * std + mean, back to the data's scale).

    axis: the kept axis or axes (1: the channels of NCHW images or the features of (N, D)
    rows; None: one mean and variance for everything); the statistics hold one value per
    index there. Give mean and variance (numbers or lists, broadcast to those sizes), or
    compute them with adapt(data): the exact mean and population variance over every other
    axis, in float64. They are buffers in floatx() (state_dict "mean" and "variance"; astype
    converts them), made when the layer is built (by a model, adapt or its first forward), so
    a model file keeps them; get_config holds only the ones given to the constructor.
    """

    buffer_names = ("mean", "variance")
    can_skip_input_grad = True

    def __init__(self, axis=1, mean=None, variance=None, invert=False, name=None):
        super().__init__(name)
        layer = type(self).__name__
        axes = (axis,) if axis is None or is_int(axis) else axis
        if not (axis is None or (isinstance(axes, (tuple, list)) and all(map(is_int, axes)))):
            raise ConfigError(f"{layer} expects axis as an int, a tuple of ints or None. "
                              f"Received: axis={axis!r}")
        if (mean is None) != (variance is None):
            raise ConfigError(f"{layer} expects both mean and variance, or neither (then adapt "
                              f"computes them). Received: mean={mean!r}, variance={variance!r}")
        self.axis = axis if axis is None or is_int(axis) else tuple(int(a) for a in axis)
        self.given = _statistic(layer, "mean", mean), _statistic(layer, "variance", variance)
        self.invert = check_bool(layer, "invert", invert)
        self.mean = self.variance = None
        self.buffer_names, self.built = (), False  # the statistics exist once built

    def get_config(self):
        return {**super().get_config(), "mean": self.given[0], "variance": self.given[1]}

    def axes(self, rank):
        """The kept axes of a rank-`rank` input, sorted and >= 1 (never the batch axis)."""
        kept = () if self.axis is None else (self.axis,) if is_int(self.axis) else self.axis
        positive = sorted({a % rank for a in kept if -rank <= a < rank})
        if len(positive) != len(kept) or 0 in positive:
            raise self.shape_error(f"axis={self.axis!r} to name distinct axes other than the "
                                   f"batch axis 0", f"an input with {rank} dimensions")
        return tuple(positive)

    def build(self, input_shape):
        self.rank, axes = len(input_shape), self.axes(len(input_shape))
        sizes = tuple(input_shape[a] for a in axes)
        if None in sizes:
            raise self.shape_error(f"known sizes on axes {axes}", shape_text("input shape",
                                                                            input_shape))
        self.buffer_names = type(self).buffer_names
        self.mean = self.new_buffer(sizes, np.nan)  # NaN: no statistics yet (adapt)
        self.variance = self.new_buffer(sizes, np.nan)
        if self.given[0] is not None and not shape_only_active():
            try:
                self.mean[...], self.variance[...] = self.given
            except ValueError:
                raise self.shape_error(f"mean and variance broadcasting to the sizes {sizes} of "
                                       f"axes {axes}", f"mean={self.given[0]!r}") from None
        self.built = True

    def output_shape(self, input_shape):
        if self.built:
            self._check_sizes(input_shape)
        return tuple(input_shape)

    def _check_sizes(self, shape, name="input shape"):
        sizes = tuple(shape[a] for a in self.axes(self.rank)) if len(shape) == self.rank else None
        if sizes is None or any(s not in (None, m) for s, m in zip(sizes, self.mean.shape)):
            raise self.shape_error(f"inputs with {self.rank} dimensions and sizes "
                                   f"{self.mean.shape} on axes {self.axes(self.rank)}",
                                   shape_text(name, shape))

    def along_axes(self, statistic):
        """A statistic (its axes' sizes) reshaped to broadcast against an input."""
        axes = self.axes(self.rank)
        return np.reshape(statistic, [statistic.shape[axes.index(a)] if a in axes else 1
                                      for a in range(self.rank)])

    def forward(self, x):
        x = self.check_input(x)
        if not self.built:
            self.build(x.shape)
        self._check_sizes(x.shape, "x.shape")
        if np.isnan(self.mean).any():
            raise NotBuiltError(f"{self.describe()} has no statistics yet: call adapt(data) "
                                f"first, or give mean and variance. Received: x.shape={x.shape}")
        out, self._cache = F.standardize_forward(x, self.along_axes(self.mean),
                                                 self.along_axes(self.variance), self.invert)
        return out

    def backward(self, dout, input_grad=True):
        """dx = dout / std (dout * std when inverted); None with input_grad=False."""
        return F.standardize_backward(dout, self._cache) if input_grad else None

    def adapt(self, data):
        """Set mean and variance to the exact statistics of `data`: an array (N, ...), or an
        iterable of such batches (or of (x, y) batches, whose x counts), merged exactly as
        they stream by (functional.merge_moments), in float64. Returns self."""
        if self.given[0] is not None:
            raise ConfigError(f"{self.describe()} was given mean and variance; adapt would "
                              f"replace them. Build it without them to adapt.")
        moments = (0, 0.0, 0.0)
        for batch in [data] if isinstance(data, np.ndarray) else data:
            batch = batch[0] if isinstance(batch, (tuple, list)) else batch
            batch = self.check_input(as_float_array(f"{self.describe()}.adapt", "data", batch))
            if not self.built:
                self.build((None,) + batch.shape[1:])
            self._check_sizes(batch.shape, "data.shape")
            moments = F.merge_moments(moments, batch, self.axes(self.rank))
        count, mean, m2 = moments
        if count == 0:
            raise ConfigError(f"{self.describe()}.adapt expects data with at least one batch. "
                              f"Received: no batches")
        dtype = self.mean.dtype
        self.mean, self.variance = mean.astype(dtype), (m2 / count).astype(dtype)
        return self
