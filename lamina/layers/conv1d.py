"""1-D layers over (N, C, L): Conv1D, MaxPool1D, AvgPool1D, GlobalAvgPool1D, GlobalMaxPool1D.

They take Conv2D's and the 2-D pools' arguments with ints for the geometry, and call the
1-D kernels (lamina.functional.conv1d), which run the 2-D machinery over a (N, C, 1, L) view.
"""

import numpy as np

from lamina import regularizers
from lamina.functional import conv1d as F
from lamina.functional.checks import check_bool, check_dout
from lamina.functional.padding import check_mode_fits, check_padding_mode
from lamina.functional.windows import pool_geometry, window_geometry
from lamina.layers.base import Layer
from lamina.layers.messages import shape_text

LAYOUT = "(N, C, L)"


class _Window1D(Layer):
    """Output length of a window over (N, C, L), with the error a model build reports: the
    window is self.geometry, a 1xK WindowGeometry over the (N, C, 1, L) view the kernels use."""

    def output_length(self, shape, name="input shape"):
        return self.geometry.output_hw((1, shape[2]), self.describe(), shape_text(name, shape),
                                       error=self.shape_error)[1]

    def set_padding(self, padding):
        """padding checked (an int, (left, right), "same" or "valid") and kept as given; returns
        it as the 2-D kernels' padding of the (N, C, 1, L) view."""
        padding_2d = F.padding_1d(padding, type(self).__name__)
        self.padding = padding_2d if isinstance(padding_2d, str) else padding_2d[1]
        return padding_2d


class Conv1D(_Window1D):
    """1-D convolution, as torch.nn.Conv1d: x (N, C, L) -> (N, F, OL).

    weight: (out_channels, in_channels/groups, kernel_size), bias: (out_channels,).
    OL = (L + left + right - d(K-1) - 1) // s + 1; padding an int, (left, right), "valid" or
    "same" (OL = ceil(L / s), Keras' rule); padding_mode as Conv2D's. See
    functional.conv1d_forward.
    """

    param_names = ("weight", "bias")
    size_argument = "in_channels"

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, weight_init="glorot_uniform", bias_init="zeros",
                 kernel_regularizer=None, bias_regularizer=None, padding_mode="zeros", name=None):
        super().__init__(name)
        self.padding_mode = check_padding_mode(type(self).__name__, padding_mode)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.in_channels = self.check_size("in_channels", in_channels, allow_none=True)
        self.out_channels = self.check_size("out_channels", out_channels)
        self.kernel_size = self.check_size("kernel_size", kernel_size)
        self.stride = self.check_size("stride", stride)
        self.dilation = self.check_size("dilation", dilation)
        self.groups = self.check_size("groups", groups)
        self.geometry = window_geometry(type(self).__name__, (1, self.kernel_size),
                                        (1, self.stride), self.set_padding(padding),
                                        (1, self.dilation))
        self.weight_init, self.bias_init = weight_init, bias_init
        self.weight, self.bias = None, bias
        self.build_when_known(self.in_channels)

    def build(self, input_shape):
        if self.in_channels is None:
            self.in_channels = int(input_shape[1])
        per_group = self.in_channels // self.groups
        self.init_weight_and_bias((self.out_channels, per_group, self.kernel_size),
                                  self.out_channels, per_group * self.kernel_size,
                                  self.out_channels * self.kernel_size)
        self.built = True

    def output_shape(self, input_shape):
        self.check_shape(input_shape, 3, LAYOUT, 1, self.in_channels)
        return (input_shape[0], self.out_channels,
                self.output_length(input_shape))

    def output_length(self, shape, name="input shape"):
        length = super().output_length(shape, name)
        hw = (1, shape[2])
        check_mode_fits(self.describe(), self.padding_mode, self.geometry.sides(hw), hw,
                        shape_text(name, shape), self.shape_error)
        return length

    def forward(self, x):
        x = self.check_input(x, 3, LAYOUT, 1, self.in_channels)
        if not self.built:
            self.build(x.shape)
        self.output_length(x.shape, "x.shape")
        out, self._cache = F.conv1d_forward(x, self.weight.data,
                                            None if self.bias is None else self.bias.data,
                                            self.stride, self.padding, self.dilation,
                                            self.groups, padding_mode=self.padding_mode)
        return out

    can_skip_input_grad = True

    def backward(self, dout, input_grad=True):
        dx, dw, db = F.conv1d_backward(dout, self._cache, input_grad)
        self.accumulate_weight_and_bias(dw, db)
        return dx


class _Pool1D(_Window1D):
    kernels = None

    def __init__(self, kernel_size, stride=None, padding=0, name=None):
        super().__init__(name)
        self.kernel_size = self.check_size("kernel_size", kernel_size)
        self.stride = self.kernel_size if stride is None else self.check_size("stride", stride)
        self.geometry = pool_geometry(type(self).__name__, (1, self.kernel_size),
                                      (1, self.stride), self.set_padding(padding))
        self.options = {}

    def output_shape(self, input_shape):
        self.check_shape(input_shape, 3, LAYOUT)
        return tuple(input_shape[:2]) + (self.output_length(input_shape),)

    def forward(self, x):
        x = self.check_input(x, 3, LAYOUT)
        self.output_length(x.shape, "x.shape")
        out, self._cache = self.kernels[0](x, self.kernel_size, self.stride, self.padding,
                                           **self.options)
        return out

    def backward(self, dout):
        return self.kernels[1](dout, self._cache)


class MaxPool1D(_Pool1D):
    """Max over each window of kernel_size steps (padding -inf, at most half the kernel)."""

    kernels = (F.max_pool1d_forward, F.max_pool1d_backward)


class AvgPool1D(_Pool1D):
    """Mean over each window of kernel_size steps. count_include_pad as AvgPool2D's: None
    counts zero padding in the divisor for numbers (PyTorch), not for "same" (Keras)."""

    kernels = (F.avg_pool1d_forward, F.avg_pool1d_backward)

    def __init__(self, kernel_size, stride=None, padding=0, count_include_pad=None, name=None):
        super().__init__(kernel_size, stride, padding, name)
        self.count_include_pad = None if count_include_pad is None else check_bool(
            type(self).__name__, "count_include_pad", count_include_pad)
        self.options = {"count_include_pad": self.count_include_pad}


class _GlobalPool1D(Layer):
    """Over the L axis: (N, C, L) -> (N, C), or (N, C, 1) with keepdims."""

    def __init__(self, keepdims=False, name=None):
        super().__init__(name)
        self.keepdims = bool(keepdims)

    def output_shape(self, input_shape):
        self.check_shape(input_shape, 3, LAYOUT)
        return tuple(input_shape[:2]) + ((1,) if self.keepdims else ())


class GlobalAvgPool1D(_GlobalPool1D):
    """out[n, c] = mean_l x[n, c, l]; dx[n, c, l] = dout[n, c] / L."""

    def forward(self, x):
        x = self.check_input(x, 3, LAYOUT)
        self._cache = x.shape
        return x.mean(axis=2, keepdims=self.keepdims)

    def backward(self, dout):
        shape = self._cache
        dout = check_dout(self.describe(), dout, self.output_shape(shape))
        return np.broadcast_to(dout.reshape(shape[:2] + (1,)) / shape[2], shape).copy()


class GlobalMaxPool1D(_GlobalPool1D):
    """out[n, c] = max_l x[n, c, l]; the gradient goes to the first maximum."""

    def forward(self, x):
        x = self.check_input(x, 3, LAYOUT)
        argmax = x.argmax(axis=2)
        self._cache = (x.shape, x.dtype, argmax)
        out = np.take_along_axis(x, argmax[..., None], axis=2)
        return out if self.keepdims else out[..., 0]

    def backward(self, dout):
        shape, dtype, argmax = self._cache
        dout = check_dout(self.describe(), dout, self.output_shape(shape))
        dx = np.zeros(shape, dtype)
        np.put_along_axis(dx, argmax[..., None], dout.reshape(shape[:2] + (1,)), axis=2)
        return dx
