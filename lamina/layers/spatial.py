"""Spatial layers (NCHW): global and adaptive pooling, max unpooling, upsampling, zero padding,
channel shuffle. The math lives in one functional module per family (global_pool,
adaptive_pool, unpool, upsample, padding, shuffle)."""

from lamina.errors import ConfigError, LaminaError, ShapeError
from lamina.functional import adaptive_pool, global_pool, shuffle, unpool, upsample
from lamina.functional import padding as zero_padding
from lamina.layers.base import Layer
from lamina.layers.messages import shape_text
from lamina.layers.pool import _Pool2D


class _Spatial(Layer):
    """A parameter-free layer over (N, C, H, W) whose forward is `kernel(x, **hyper)`."""

    kernel = None

    def hyper(self):
        return {}

    def forward(self, x):
        x = self.check_input(x, 4, "(N, C, H, W)")
        out, self._cache = self.kernel[0](x, **self.hyper())
        return out

    def check_image_shape(self, shape):
        """A model build's check of the input shape: (N, C, H, W)."""
        self.check_shape(shape, 4, "(N, C, H, W)")

    def backward(self, dout):
        return self.kernel[1](dout, self._cache)


class _GlobalPool2D(_Spatial):
    def __init__(self, keepdims=False, name=None):
        super().__init__(name)
        if not isinstance(keepdims, bool):
            raise ConfigError(f"{type(self).__name__} expects keepdims as True or False. "
                              f"Received: keepdims={keepdims!r}")
        self.keepdims = keepdims

    def hyper(self):
        return {"keepdims": self.keepdims}

    def output_shape(self, input_shape):
        self.check_image_shape(input_shape)
        return tuple(input_shape[:2]) + ((1, 1) if self.keepdims else ())


class GlobalAvgPool2D(_GlobalPool2D):
    """Mean over H and W: (N, C, H, W) -> (N, C), or (N, C, 1, 1) with keepdims=True (then it
    equals torch's AdaptiveAvgPool2d(1)). The (N, C) default is Keras' and feeds a Linear."""

    kernel = (global_pool.global_avg_pool2d_forward, global_pool.global_avg_pool2d_backward)


class GlobalMaxPool2D(_GlobalPool2D):
    """Max over H and W: (N, C, H, W) -> (N, C), or (N, C, 1, 1) with keepdims=True (torch's
    AdaptiveMaxPool2d(1)). The gradient goes to each plane's first maximum."""

    kernel = (global_pool.global_max_pool2d_forward, global_pool.global_max_pool2d_backward)


class AdaptiveAvgPool2D(_Spatial):
    """Average pooling to a fixed (OH, OW) whatever the input size, as torch's AdaptiveAvgPool2d.

    output_size: int or pair; None in the pair keeps that input size. Bins follow PyTorch:
    row bin i = [floor(i*H/OH), ceil((i+1)*H/OH)). See functional.adaptive_avg_pool2d_forward.
    """

    kernel = (adaptive_pool.adaptive_avg_pool2d_forward, adaptive_pool.adaptive_avg_pool2d_backward)

    def __init__(self, output_size, name=None):
        super().__init__(name)
        self.output_size = adaptive_pool.adaptive_output_size(output_size, type(self).__name__)

    def hyper(self):
        return {"output_size": self.output_size}

    def output_shape(self, input_shape):
        self.check_image_shape(input_shape)
        return tuple(input_shape[:2]) + tuple(
            input_shape[2 + k] if s is None else s for k, s in enumerate(self.output_size))


class MaxUnpool2D(_Pool2D):
    """Partial inverse of MaxPool2D: each value goes back to the position its max came from,
    zeros elsewhere, as torch's MaxUnpool2d. (N, C, H, W) -> (N, C, (H-1)*sh - 2*ph + KH, ...).

    Give it the pool's geometry and, at call time, the indices of MaxPool2D(return_index=True):

        pool, unpool = MaxPool2D(2, return_index=True), MaxUnpool2D(2)
        y, idx = pool(x)
        up = unpool(y, idx)            # or unpool((y, idx)); output_size=... picks an odd size
        dy = pool.backward(unpool.backward(dout))

    Indices carry no gradient: backward returns dx only. A Sequential passes on only the
    pooled values, never the indices, so inside one this layer raises a clear error: write
    encoder-decoder nets (SegNet) by hand as above, or in a container that keeps the indices.
    """

    backward_kernel = staticmethod(unpool.max_unpool2d_backward)
    half_kernel_padding = False
    same_padding = False

    def forward(self, x, indices=None, output_size=None):
        if indices is None and isinstance(x, tuple) and len(x) == 2:
            x, indices = x
        if indices is None:
            raise LaminaError(
                f"{self.describe()} needs the indices of MaxPool2D(return_index=True): call "
                f"unpool(y, indices) or unpool((y, indices)). Received: "
                f"{type(x).__name__} without indices")
        x = self.check_input(x, 4, "(N, C, H, W)")
        if getattr(indices, "shape", None) != x.shape:
            raise ShapeError(f"{self.describe()} expects indices of the input's shape {x.shape}. "
                             f"Received: indices.shape={getattr(indices, 'shape', None)}")
        out, self._cache = unpool.max_unpool2d_forward(x, indices, self.kernel_size, self.stride,
                                                  self.padding, output_size)
        return out

    def output_shape(self, input_shape, indices_shape=None):
        """The unpooled shape; in a graph also given the indices' shape, which must match."""
        self.check_shape(input_shape, 4, "(N, C, H, W)")
        if indices_shape is not None and tuple(indices_shape) != tuple(input_shape):
            raise ShapeError(f"{self.describe()} expects indices of the input's shape "
                             f"{tuple(input_shape)}. Received: indices shape "
                             f"{tuple(indices_shape)}")
        return tuple(input_shape[:2]) + unpool.unpool_output_hw(
            input_shape[2:], self.kernel_size, self.stride, self.padding, op=self.describe())


class Upsample2D(_Spatial):
    """Resize H and W by an integer scale_factor or to a fixed size, as torch's nn.Upsample.

    mode 'nearest' (PyTorch's index rule) or 'bilinear' (align_corners False by default, or
    True). Exactly one of scale_factor / size. Upsample2D(2) doubles H and W, as Keras'
    UpSampling2D(2) (so scale_factor comes first, unlike torch's positional size).
    See functional.upsample2d_forward for the math.
    """

    kernel = (upsample.upsample2d_forward, upsample.upsample2d_backward)

    def __init__(self, scale_factor=None, size=None, mode="nearest", align_corners=None,
                 name=None):
        super().__init__(name)
        self.scale_factor, self.size, self.mode, self.align_corners = upsample.upsample_options(
            scale_factor, size, mode, align_corners, type(self).__name__)

    def hyper(self):
        return {"scale_factor": self.scale_factor, "size": self.size, "mode": self.mode,
                "align_corners": self.align_corners}

    def output_shape(self, input_shape):
        self.check_image_shape(input_shape)
        return tuple(input_shape[:2]) + upsample.upsample_output_hw(input_shape[2:], self.scale_factor,
                                                             self.size)


class ZeroPad2D(_Spatial):
    """Zero padding of H and W, as torch's ZeroPad2d: padding an int or (left, right, top,
    bottom); negative widths crop. (N, C, H, W) -> (N, C, H + top + bottom, W + left + right)."""

    kernel = (zero_padding.zero_pad2d_forward, zero_padding.zero_pad2d_backward)

    def __init__(self, padding, name=None):
        super().__init__(name)
        self.padding = zero_padding.zero_pad_widths(padding, type(self).__name__)

    def hyper(self):
        return {"padding": self.padding}

    def forward(self, x):
        x = self.check_input(x, 4, "(N, C, H, W)")
        self._out_hw(x.shape, "x.shape")
        out, self._cache = zero_padding.zero_pad2d_forward(x, self.padding)
        return out

    def output_shape(self, input_shape):
        self.check_image_shape(input_shape)
        return tuple(input_shape[:2]) + self._out_hw(input_shape)

    def _out_hw(self, shape, name="input shape"):
        left, right, top, bottom = self.padding
        out_hw = tuple(None if size is None else size + extra
                       for size, extra in zip(shape[2:], (top + bottom, left + right)))
        if any(size is not None and size < 1 for size in out_hw):
            raise self.shape_error(f"an input that its padding {self.padding} (left, right, top, "
                                   f"bottom) does not crop away entirely", shape_text(name, shape))
        return out_hw


class ChannelShuffle(Layer):
    """ShuffleNet's channel shuffle, as torch's ChannelShuffle: channels read as a (groups,
    C/groups) grid are transposed, so the next grouped convolution mixes every group.
    x (N, C, *) -> same shape; C must be divisible by groups."""

    def __init__(self, groups, name=None):
        super().__init__(name)
        self.groups = self.check_size("groups", groups)

    def forward(self, x):
        x = self.check_input(x)
        self._check_channels(x.shape, "x.shape")
        out, self._cache = shuffle.channel_shuffle_forward(x, self.groups)
        return out

    def output_shape(self, input_shape):
        self._check_channels(input_shape)
        return tuple(input_shape)

    def _check_channels(self, shape, name="input shape"):
        if len(shape) < 3 or (shape[1] is not None and shape[1] % self.groups):
            raise self.shape_error(f"input (N, C, *) with C divisible by groups={self.groups}",
                                   shape_text(name, shape))
    def backward(self, dout):
        return shuffle.channel_shuffle_backward(dout, self._cache)
