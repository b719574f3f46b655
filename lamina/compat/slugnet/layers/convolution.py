"""slugnet's Convolution and MeanPooling over lamina.layers.Conv2D and AvgPool2D (NCHW)."""

from lamina import layers as L
from lamina.compat.slugnet.activation import ReLU
from lamina.compat.slugnet.initializations import GlorotUniform
from lamina.compat.slugnet.layers.base import (Layer, activation_layers, activation_of,
                                               initializer_of, weight_init)
from lamina.errors import ConfigError

__all__ = ["Convolution", "MeanPooling"]


class Convolution(Layer):
    """A convolution with nb_kernel kernels of kernel_size (height, width), no padding, then
    the activation (ReLU when None, as slugnet): lamina.layers.Conv2D + the activation's layer.

    (N, C, H, W) -> (N, nb_kernel, (H - kh) // stride + 1, (W - kw) // stride + 1).
    """

    example_rank = 3

    def __init__(self, nb_kernel, kernel_size, stride=1, inshape=None, init=GlorotUniform(),
                 activation=None):
        super().__init__(inshape)
        declared = self.example_shape()
        if declared is not None and len(declared) != 3:
            raise ConfigError(f"{self.describe()} expects inshape as (None, C, H, W) or "
                              f"(C, H, W). Received: inshape={inshape!r}")
        self.nb_kernel, self.kernel_size, self.stride = nb_kernel, kernel_size, stride
        self.activation = activation_of(self, activation, ReLU)
        self.init = initializer_of(self, init)
        self.conv = self.native(L.Conv2D, None if declared is None else declared[0], nb_kernel,
                                kernel_size, stride, weight_init=weight_init(init))
        self.parts = [self.conv] + activation_layers(self.activation)


class MeanPooling(Layer):
    """The mean of each pool_size (height, width) window, windows side by side (stride =
    pool_size): lamina.layers.AvgPool2D. (N, C, H, W) -> (N, C, H // ph, W // pw)."""

    example_rank = 3

    def __init__(self, pool_size, inshape=None):
        super().__init__(inshape)
        self.pool_size = pool_size
        self.parts = [self.native(L.AvgPool2D, pool_size)]
