"""Pooling layers: MaxPool2D and AvgPool2D (alias MeanPool2D), NCHW."""

from lamina.functional import pool as F
from lamina.functional.checks import check_bool
from lamina.functional.windows import check_not_same, pair, pool_geometry, window_geometry
from lamina.layers.base import Layer
from lamina.layers.input_checks import CHANNELS_LAST_HINT, looks_channels_last
from lamina.layers.messages import shape_text


class _Pool2D(Layer):
    """Window geometry shared by the pooling layers; stride None means stride = kernel_size.
    padding: an int, a pair, ((top, bottom), (left, right)), "valid" or "same" (OH =
    ceil(H / sh), Keras' rule), kept as given for get_config."""

    half_kernel_padding = True  # padding at most half the kernel, as PyTorch's pools require
    same_padding = True  # False: padding="same" means nothing to this layer (an unpooling)

    def __init__(self, kernel_size, stride=None, padding=0, name=None):
        super().__init__(name)
        op = type(self).__name__
        if not self.same_padding:
            check_not_same(padding, op, "an unpooling")
        build = pool_geometry if self.half_kernel_padding else window_geometry
        kernel = pair(kernel_size, "kernel_size", 1, op)
        self.geometry = build(op, kernel, kernel if stride is None else stride, padding)
        self.kernel_size, self.stride = self.geometry[:2]
        self.padding = padding if isinstance(padding, str) else self.geometry.padding

    def output_shape(self, input_shape):
        oh, ow = self.output_hw(input_shape)
        return (input_shape[0], input_shape[1], oh, ow)

    def output_hw(self, shape, name="input shape"):
        """(OH, OW) for an input of `shape`, after checking its rank."""
        self.check_shape(shape, 4, "(N, C, H, W)", name=name)
        hint = CHANNELS_LAST_HINT if looks_channels_last(shape) else None
        return self.geometry.output_hw(shape[2:], self.describe(), shape_text(name, shape),
                                       hint, self.shape_error)

    def check_image(self, x):
        """x checked as check_input does, and its spatial size against the window."""
        x = self.check_input(x, 4, "(N, C, H, W)")
        self.output_hw(x.shape, "x.shape")
        return x

    def backward(self, dout):
        return self.backward_kernel(dout, self._cache)


class MaxPool2D(_Pool2D):
    """Max over each KHxKW window. With return_index=True, forward returns (out, indices),
    indices flat within each H*W plane as PyTorch's return_indices."""

    backward_kernel = staticmethod(F.max_pool2d_backward)

    def __init__(self, kernel_size, stride=None, padding=0, return_index=False, name=None):
        super().__init__(kernel_size, stride, padding, name)
        self.return_index = return_index

    def forward(self, x):
        x = self.check_image(x)
        out, self._cache = F.max_pool2d_forward(x, self.geometry,
                                                train=self.training)
        return (out, F.max_pool2d_indices(self._cache)) if self.return_index else out

    def output_shapes(self, input_shape):
        """With return_index, two outputs: [values shape, indices shape]."""
        shape = self.output_shape(input_shape)
        return [shape, shape] if self.return_index else [shape]


class AvgPool2D(_Pool2D):
    """Mean over each KHxKW window. count_include_pad: whether zero padding counts in the
    divisor; None follows the padding's origin: True for numbers (PyTorch's default), False
    for "same" (Keras, whose "same" average counts real pixels only)."""

    backward_kernel = staticmethod(F.avg_pool2d_backward)

    def __init__(self, kernel_size, stride=None, padding=0, count_include_pad=None, name=None):
        super().__init__(kernel_size, stride, padding, name)
        self.count_include_pad = None if count_include_pad is None else check_bool(
            type(self).__name__, "count_include_pad", count_include_pad)

    def forward(self, x):
        x = self.check_image(x)
        out, self._cache = F.avg_pool2d_forward(x, self.geometry,
                                                count_include_pad=self.count_include_pad)
        return out


MeanPool2D = AvgPool2D
