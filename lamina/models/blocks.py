"""Pieces the zoo's architectures share: argument checks, conv-BN(-activation) stacks,
squeeze-and-excitation, and ChannelSlice (ShuffleNet's channel split)."""

import numpy as np

from lamina import layers as L
from lamina.errors import ConfigError
from lamina.functional.checks import check_dout, check_int
from lamina.layers.messages import shape_text
from lamina.model import Sequential


# -- builder argument checks -------------------------------------------------------------------
def check_count(builder, name, value, minimum=1):
    """value as an int >= minimum, or a ConfigError naming the builder and the value."""
    return check_int(builder, name, value, minimum)


def check_counts(builder, name, values, length=None, minimum=1):
    """A non-empty list or tuple of ints >= minimum (of `length` entries if given) -> tuple."""
    if not isinstance(values, (list, tuple)) or not values or (
            length is not None and len(values) != length):
        expected = f"{length} ints" if length is not None else "a non-empty tuple of ints"
        raise ConfigError(f"{builder} expects {name} as {expected} >= {minimum}. "
                          f"Received: {name}={values!r}")
    return tuple(check_count(builder, f"{name}[{i}]", v, minimum) for i, v in enumerate(values))


def make_divisible(value, divisor=8):
    """Round a scaled channel count to a multiple of divisor, never below 90% of it
    (MobileNet's rule, as torchvision's _make_divisible)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def conv_bn(in_channels, out_channels, kernel_size, stride=1, activation=None,
            depthwise=False):
    """[conv (no bias, 'same' padding for odd kernels), BatchNorm2D, activation()] as a list.

    depthwise=True makes the conv a DepthwiseConv2D (out_channels must equal in_channels).
    """
    padding = kernel_size // 2
    if depthwise:
        conv = L.DepthwiseConv2D(in_channels, kernel_size, stride=stride, padding=padding,
                                 bias=False)
    else:
        conv = L.Conv2D(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                        bias=False)
    return [conv, L.BatchNorm2D(out_channels)] + ([activation()] if activation else [])


# -- squeeze-and-excitation ------------------------------------------------------------------
def SEBlock(channels, reduction=16, name=None):
    """Squeeze-and-excitation (Hu et al. 2018): features rescaled by a learnt channel gate.

    x (N, C, H, W) -> x * g, g = sigmoid(W2 relu(W1 mean_hw(x) + b1) + b2) of shape
    (N, C, 1, 1), W1: (C/r, C), W2: (C, C/r) as 1x1 convolutions, C/r = max(1, C // r).
    Built as Multiply([identity, gate]), so x fans out and dx sums both paths (see Multiply);
    this equals torchvision's SqueezeExcitation(C, C // r). Parameters: 2*C*(C/r) + C/r + C.

    >>> SEBlock(32, reduction=4).count_params()
    552
    """
    channels = check_count("SEBlock", "channels", channels)
    squeezed = max(1, channels // check_count("SEBlock", "reduction", reduction))
    gate = Sequential([L.GlobalAvgPool2D(keepdims=True), L.Conv2D(channels, squeezed, 1),
                       L.ReLU(), L.Conv2D(squeezed, channels, 1), L.Sigmoid()], name="gate")
    return L.Multiply([Sequential([], name="identity"), gate], name=name)


# -- channel split -----------------------------------------------------------------------------
class ChannelSlice(L.Layer):
    """Channels start..stop-1 of the input: x (N, C, *) -> x[:, start:stop] (a copy).

    ShuffleNetV2's channel split is two of these side by side in a Concat. It cannot be
    composed from Reshape / ZeroPad2D without fixing H and W, hence a layer of its own.
    Backward: dx is zero except dx[:, start:stop] = dout.

    >>> ChannelSlice(1, 3).forward(np.arange(8.0).reshape(2, 4))
    array([[1., 2.],
           [5., 6.]])
    """

    def __init__(self, start, stop, name=None):
        super().__init__(name)
        self.start = self.check_size("start", start, minimum=0)
        self.stop = self.check_size("stop", stop)
        if self.stop <= self.start:
            raise ConfigError(f"ChannelSlice expects start < stop. "
                              f"Received: start={start!r}, stop={stop!r}")

    def _check_channels(self, shape, name="input shape"):
        if len(shape) < 2 or (shape[1] is not None and shape[1] < self.stop):
            raise self.shape_error(f"input (N, C, *) with C >= {self.stop}, as it takes channels "
                                   f"{self.start}..{self.stop - 1}", shape_text(name, shape))

    def output_shape(self, input_shape):
        self._check_channels(input_shape)
        return (input_shape[0], self.stop - self.start) + tuple(input_shape[2:])

    def forward(self, x):
        x = self.check_input(x)
        self._check_channels(x.shape, "x.shape")
        out = x[:, self.start:self.stop].copy()
        self._cache = x.shape, out.shape
        return out

    def backward(self, dout):
        x_shape, out_shape = self._cache
        dout = check_dout(self.describe(), dout, out_shape)
        dx = np.zeros(x_shape, dout.dtype)
        dx[:, self.start:self.stop] = dout
        return dx
