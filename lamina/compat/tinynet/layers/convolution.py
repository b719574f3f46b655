"""tinynet's Conv2D and Deconv2D over lamina.layers.Conv2D and ConvTranspose2D (NCHW).

input_dim is one example's shape (C, H, W); forward takes (N, C, H, W) of exactly that shape.
Weights follow PyTorch's layouts: Conv2D's (n_filter, C, h_filter, w_filter), Deconv2D's
(C, n_filters, h_filter, w_filter), as a Conv2D weight of the convolution it reverses
(tinynet copied a Conv2D's weight into the Deconv2D undoing it); biases (n_filter,).
Output sizes are floored, as PyTorch's.
"""

from lamina import layers as L
from lamina.compat.tinynet.layers.base import Layer
from lamina.errors import ConfigError, LaminaError

__all__ = ["Conv2D", "Deconv2D"]


class _Spatial(Layer):
    """input_dim (C, H, W) kept as tinynet's attributes; out_dim found by lamina."""

    def __init__(self, name, input_dim):
        super().__init__(name)
        if not isinstance(input_dim, (tuple, list)) or len(input_dim) != 3:
            raise ConfigError(f"{self.describe()} expects input_dim as (C, H, W). "
                              f"Received: input_dim={input_dim!r}")
        self.input_dim = tuple(input_dim)
        self.input_channel, self.input_height, self.input_width = self.input_dim

    def output_dim(self):
        """(C_out, H_out, W_out) for input_dim; a ConfigError naming this layer if none fits."""
        try:
            return tuple(self.lamina_layer.output_shape((None,) + self.input_dim)[1:])
        except LaminaError as error:
            raise ConfigError(f"{self.describe()}: input_dim={self.input_dim} does not fit "
                              f"its settings: {error}") from error

    def forward(self, input):
        return self.run(self.lamina_layer.forward, self.check(input, self.input_dim))


class Conv2D(_Spatial):
    """Convolution (cross-correlation) with n_filter filters of h_filter x w_filter.

    (N, C, H, W) -> (N, n_filter, (H + 2p - h) // s + 1, (W + 2p - w) // s + 1).
    """

    type = "Conv2D"

    def __init__(self, name, input_dim, n_filter, h_filter, w_filter, stride, padding):
        super().__init__(name, input_dim)
        self.n_filter, self.h_filter, self.w_filter = n_filter, h_filter, w_filter
        self.stride, self.padding = stride, padding
        self.native(L.Conv2D, self.input_channel, n_filter, (h_filter, w_filter), stride,
                    padding)
        self.out_dim = self.output_dim()
        _, self.out_height, self.out_width = self.out_dim


class Deconv2D(_Spatial):
    """Transposed convolution: C -> n_filters channels, the adapter of PyTorch's
    ConvTranspose2d(C, n_filters, (h_filter, w_filter), stride, padding, dilation=dilation).

    (N, C, H, W) -> (N, n_filters, (H - 1) s - 2p + d (h - 1) + 1, ...). Its backward is
    real: input, weight and bias gradients.
    """

    type = "Deconv2D"

    def __init__(self, name, input_dim, n_filters, h_filter, w_filter, stride, dilation=1,
                 padding=0):
        super().__init__(name, input_dim)
        self.n_filters, self.h_filter, self.w_filter = n_filters, h_filter, w_filter
        self.stride, self.dilation, self.padding = stride, dilation, padding
        self.native(L.ConvTranspose2D, self.input_channel, n_filters, (h_filter, w_filter),
                    stride, padding, dilation=dilation)
        self.out_dim = self.output_dim()
        _, self.out_height, self.out_width = self.out_dim
