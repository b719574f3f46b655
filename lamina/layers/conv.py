"""Convolution layers: Conv2D and ConvTranspose2D (alias Deconv2D), NCHW."""

from lamina import regularizers
from lamina.errors import ConfigError
from lamina.functional import conv as F
from lamina.functional.padding import check_mode_fits, check_padding_mode
from lamina.functional.windows import pair, window_geometry
from lamina.layers.base import Layer
from lamina.layers.input_checks import CHANNELS_LAST_HINT, looks_channels_last
from lamina.layers.messages import shape_text


class _ConvBase(Layer):
    """Shared construction, lazy build and parameter bookkeeping of the two convolutions."""

    param_names = ("weight", "bias")
    size_argument = "in_channels"
    LAYOUT = "(N, C, H, W)"

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                 bias, weight_init, bias_init, kernel_regularizer, bias_regularizer, name):
        super().__init__(name)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        op = type(self).__name__
        kernel_size = self.check_kernel_given(kernel_size, dict(in_channels=in_channels,
                                                                out_channels=out_channels))
        self.in_channels = self.check_size("in_channels", in_channels, allow_none=True)
        self.out_channels = self.check_size("out_channels", out_channels)
        self.groups = self.check_size("groups", groups)
        self.kernel_size = pair(kernel_size, "kernel_size", 1, op)
        self.stride = pair(stride, "stride", 1, op)
        self.dilation = pair(dilation, "dilation", 1, op)
        self.geometry = window_geometry(op, self.kernel_size, self.stride, padding, self.dilation)
        self.padding = padding if isinstance(padding, str) else self.geometry.padding
        self.weight_init, self.bias_init = weight_init, bias_init
        self.weight, self.bias = None, bias
        if out_channels % groups:
            raise ConfigError(
                f"{op} expects out_channels divisible by groups. "
                f"Received: out_channels={out_channels}, groups={groups}"
            )
        self.build_when_known(self.in_channels)

    def build(self, input_shape):
        if self.in_channels is None:
            self.in_channels = self.inferred_channels(input_shape)
        if self.in_channels % self.groups:
            raise ConfigError(
                f"{self.describe()} expects in_channels divisible by groups. "
                f"Received: in_channels={self.in_channels}, groups={self.groups}"
            )
        shape, fan_in, fan_out = self.weight_shape()
        self.init_weight_and_bias(shape, self.out_channels, fan_in, fan_out)
        self.built = True

    def _prepare(self, x):
        """x checked (dtype, rank, channels, spatial size), the weight and the bias."""
        x = self.check_input(x, 4, self.LAYOUT)
        if not self.built:
            self.build(x.shape)
        self.output_hw(x.shape, "x.shape")
        return x, self.weight.data, None if self.bias is None else self.bias.data

    def output_shape(self, input_shape):
        oh, ow = self.output_hw(input_shape)
        return (input_shape[0], self.out_channels, oh, ow)

    def output_hw(self, shape, name="input shape"):
        """(OH, OW) for an input of `shape`, after checking its rank and channels."""
        self.check_shape(shape, 4, self.LAYOUT, 1, self.in_channels, name)
        return self.spatial_output(shape, name)

    can_skip_input_grad = True

    def backward(self, dout, input_grad=True):
        """dx (None with input_grad=False: a model's first layer skips it); fills the grads."""
        dx, dw, db = self.backward_kernel(dout, self._cache, input_grad)
        self.accumulate_weight_and_bias(dw, db)
        return dx


class Conv2D(_ConvBase):
    """2-D convolution (cross-correlation as PyTorch). x (N, C, H, W) -> (N, F, OH, OW).

    weight: (out_channels, in_channels/groups, KH, KW); bias: (out_channels,).
    OH = (H + top + bottom - dh*(KH-1) - 1) // sh + 1. padding: an int, a pair, ((top,
    bottom), (left, right)), "valid" or "same" (OH = ceil(H / sh), Keras' rule with the odd
    pixel at the bottom/right, PyTorch's at stride 1). padding_mode: "zeros", "reflect",
    "replicate" or "circular", as torch.nn.Conv2d. See functional.conv2d_forward for the math.
    """

    backward_kernel = staticmethod(F.conv2d_backward)

    def __init__(self, in_channels, out_channels, kernel_size=None, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, weight_init="glorot_uniform", bias_init="zeros",
                 kernel_regularizer=None, bias_regularizer=None, padding_mode="zeros", name=None):
        self.padding_mode = check_padding_mode(type(self).__name__, padding_mode)
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, weight_init, bias_init, kernel_regularizer,
                         bias_regularizer, name)

    def weight_shape(self):
        kh, kw = self.kernel_size
        fan_in = self.in_channels // self.groups * kh * kw
        return (self.out_channels, self.in_channels // self.groups, kh, kw), fan_in, self.out_channels * kh * kw

    def forward(self, x):
        x, w, b = self._prepare(x)
        out, self._cache = F.conv2d_forward(x, w, b, groups=self.groups,
                                            padding_mode=self.padding_mode,
                                            geometry=self.geometry)
        return out

    def spatial_output(self, shape, name):
        hint = CHANNELS_LAST_HINT if looks_channels_last(shape) else None
        received = shape_text(name, shape)
        out_hw = self.geometry.output_hw(shape[2:], self.describe(), received, hint,
                                         self.shape_error)
        check_mode_fits(self.describe(), self.padding_mode, self.geometry.sides(shape[2:]),
                        shape[2:], received, self.shape_error)
        return out_hw


class ConvTranspose2D(_ConvBase):
    """Transposed convolution (the adjoint of Conv2D). x (N, C, H, W) -> (N, F, OH, OW).

    weight: (in_channels, out_channels/groups, KH, KW) as PyTorch;
    OH = (H-1)*sh - top - bottom + dh*(KH-1) + output_padding_h + 1; padding as Conv2D's,
    "same" giving OH = H*sh as Keras' Conv2DTranspose (output_padding 0 then).
    """

    backward_kernel = staticmethod(F.conv_transpose2d_backward)

    def __init__(self, in_channels, out_channels, kernel_size=None, stride=1, padding=0,
                 output_padding=0, dilation=1, groups=1, bias=True, weight_init="glorot_uniform",
                 bias_init="zeros", kernel_regularizer=None, bias_regularizer=None, name=None):
        self.output_padding = pair(output_padding, "output_padding", 0, type(self).__name__)
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, weight_init, bias_init, kernel_regularizer,
                         bias_regularizer, name)
        self.geometry.transposed_for_input((None, None), self.output_padding, type(self).__name__)

    def weight_shape(self):
        kh, kw = self.kernel_size
        per_group = self.out_channels // self.groups
        return ((self.in_channels, per_group, kh, kw), per_group * kh * kw,
                self.in_channels * kh * kw)

    def forward(self, x):
        x, w, b = self._prepare(x)
        out, self._cache = F.conv_transpose2d_forward(
            x, w, b, output_padding=self.output_padding, groups=self.groups,
            geometry=self.geometry)
        return out

    def spatial_output(self, shape, name):
        return self.geometry.transposed_output_hw(shape[2:], self.output_padding,
                                                  self.describe(), shape_text(name, shape),
                                                  error=self.shape_error)


Deconv2D = ConvTranspose2D
