"""A layer's input checks: x as a float array of the expected rank and size, with errors that
name the layer, and the channels-last hints (Keras' (N, H, W, C) images and (N, L, C)
sequences fed to lamina's channels-first layers) that replace a misleading size fix."""

import numpy as np

from lamina.errors import ConfigError, ShapeError
from lamina.functional.checks import FLOAT_CHARS, as_float_array
from lamina.layers.messages import shape_text


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


class InputChecks:
    """Layer's check_input, check_shape, inferred_channels and check_kernel_given (a mixin: it
    reads the layer's built, size_argument, describe and shape_error)."""

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

    def inferred_channels(self, input_shape):
        """input_shape[1], the channel count a lazy layer builds for (checked as check_shape
        checks it: never from an input that looks channels-last)."""
        self.check_shape(input_shape, dim=1)
        return int(input_shape[1])

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
