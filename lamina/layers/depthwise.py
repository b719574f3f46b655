"""Depthwise and depthwise-separable convolutions (MobileNet), thin layers over grouped conv2d."""

from lamina import regularizers
from lamina.functional import conv as F
from lamina.functional.windows import pair, window_geometry
from lamina.layers.base import Layer
from lamina.layers.input_checks import CHANNELS_LAST_HINT, looks_channels_last
from lamina.layers.messages import shape_text
from lamina.layers.conv import Conv2D


class DepthwiseConv2D(Conv2D):
    """Each input channel convolved with its own depth_multiplier (m) filters: Conv2D with
    groups = in_channels, as torch's Conv2d(C, C*m, k, groups=C).
    x (N, C, H, W) -> (N, C*m, OH, OW), OH as Conv2D's.

    weight: (C*m, 1, KH, KW), output channel c*m + j from input channel c; bias: (C*m,).
    in_channels=None is inferred from the first input. padding and padding_mode as Conv2D's
    ("same", "valid", numbers; zeros, reflect, replicate, circular).
    """

    def __init__(self, in_channels, kernel_size=None, stride=1, padding=0, dilation=1,
                 depth_multiplier=1, bias=True, weight_init="glorot_uniform", bias_init="zeros",
                 kernel_regularizer=None, bias_regularizer=None, padding_mode="zeros", name=None):
        self.check_kernel_given(kernel_size, dict(in_channels=in_channels))
        self.depth_multiplier = self.check_size("depth_multiplier", depth_multiplier)
        channels = self.check_size("in_channels", in_channels, allow_none=True) or 1
        # Lazy (in_channels=None): groups and out_channels are fixed in build().
        super().__init__(in_channels, channels * self.depth_multiplier, kernel_size, stride,
                         padding, dilation, groups=channels, bias=bias, weight_init=weight_init,
                         bias_init=bias_init, kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer, padding_mode=padding_mode, name=name)

    def build(self, input_shape):
        if self.in_channels is None:
            self.in_channels = self.inferred_channels(input_shape)
        self.groups, self.out_channels = self.in_channels, self.in_channels * self.depth_multiplier
        super().build(input_shape)

    def output_shape(self, input_shape):
        shape = super().output_shape(input_shape)
        channels = self.in_channels or input_shape[1]
        return (shape[0], channels * self.depth_multiplier) + shape[2:]


class SeparableConv2D(Layer):
    """Depthwise convolution, then a 1x1 pointwise one mixing channels (Keras' SeparableConv2D;
    in torch, Conv2d(C, C*m, k, groups=C, bias=False) then Conv2d(C*m, F, 1)).
    x (N, C, H, W) -> (N, F, OH, OW), OH as Conv2D's for the depthwise geometry.

    depthwise_weight: (C*m, 1, KH, KW); pointwise_weight: (F, C*m, 1, 1); bias: (F,), added
    after the pointwise step only. kernel_regularizer applies to both weights. padding as
    Conv2D's, "same" and "valid" included (Keras' SeparableConv2D rule).
    """

    param_names = ("depthwise_weight", "pointwise_weight", "bias")
    size_argument = "in_channels"

    def __init__(self, in_channels, out_channels, kernel_size=None, stride=1, padding=0,
                 dilation=1, depth_multiplier=1, bias=True, weight_init="glorot_uniform",
                 bias_init="zeros", kernel_regularizer=None, bias_regularizer=None, name=None):
        super().__init__(name)
        op = type(self).__name__
        self.check_kernel_given(kernel_size, dict(in_channels=in_channels,
                                                  out_channels=out_channels))
        self.in_channels = self.check_size("in_channels", in_channels, allow_none=True)
        self.out_channels = self.check_size("out_channels", out_channels)
        self.kernel_size = pair(kernel_size, "kernel_size", 1, op)
        self.stride = pair(stride, "stride", 1, op)
        self.dilation = pair(dilation, "dilation", 1, op)
        self.geometry = window_geometry(op, self.kernel_size, self.stride, padding, self.dilation)
        self.padding = padding if isinstance(padding, str) else self.geometry.padding
        self.depth_multiplier = self.check_size("depth_multiplier", depth_multiplier)
        self.weight_init, self.bias_init = weight_init, bias_init
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.depthwise_weight = self.pointwise_weight = None
        self.bias = bias
        self.build_when_known(self.in_channels)

    def build(self, input_shape):
        if self.in_channels is None:
            self.in_channels = self.inferred_channels(input_shape)
        kh, kw = self.kernel_size
        middle = self.in_channels * self.depth_multiplier
        self.depthwise_weight = self.new_parameter(
            "depthwise_weight", (middle, 1, kh, kw), self.weight_init, fan_in=kh * kw,
            fan_out=middle * kh * kw, regularizer=self.kernel_regularizer)
        self.pointwise_weight = self.new_parameter(
            "pointwise_weight", (self.out_channels, middle, 1, 1), self.weight_init,
            fan_in=middle, fan_out=self.out_channels, regularizer=self.kernel_regularizer)
        self.bias = self.new_parameter(
            "bias", (self.out_channels,), self.bias_init, fan_in=middle,
            fan_out=self.out_channels, regularizer=self.bias_regularizer) if self.bias else None
        self.built = True

    def forward(self, x):
        x = self.check_input(x, 4, "(N, C, H, W)")
        if not self.built:
            self.build(x.shape)
        self.output_hw(x.shape, "x.shape")
        middle, depthwise_cache = F.conv2d_forward(
            x, self.depthwise_weight.data, None, groups=self.in_channels, geometry=self.geometry)
        bias = None if self.bias is None else self.bias.data
        out, pointwise_cache = F.conv2d_forward(middle, self.pointwise_weight.data, bias)
        self._cache = depthwise_cache, pointwise_cache
        return out

    def backward(self, dout):
        depthwise_cache, pointwise_cache = self._cache
        dmiddle, dpointwise, dbias = F.conv2d_backward(dout, pointwise_cache)
        dx, ddepthwise, _ = F.conv2d_backward(dmiddle, depthwise_cache)
        self.depthwise_weight.accumulate(ddepthwise)
        self.pointwise_weight.accumulate(dpointwise)
        if self.bias is not None:
            self.bias.accumulate(dbias)
        return dx

    def output_shape(self, input_shape):
        oh, ow = self.output_hw(input_shape)
        return (input_shape[0], self.out_channels, oh, ow)

    def output_hw(self, shape, name="input shape"):
        """(OH, OW) for an input of `shape`, after checking its rank and channels."""
        self.check_shape(shape, 4, "(N, C, H, W)", 1, self.in_channels, name)
        hint = CHANNELS_LAST_HINT if looks_channels_last(shape) else None
        return self.geometry.output_hw(shape[2:], self.describe(), shape_text(name, shape),
                                       hint, self.shape_error)
