"""Random image augmentation layers (NCHW), active only in training: the shared base
ImageAugmentation, and RandomFlip, RandomCrop, RandomErasing (RandomTranslation and
RandomRotation, which resample through affine maps, are in augmentation_affine).

Each draws its random parameters per example, for the whole batch at once, from lamina's
global generator (``lamina.seed``), or from ``layer.rng`` when it is set (a numpy Generator, or
an int: then every forward draws the same parameters, as a gradient check needs). In eval
mode, and inside ``lamina.inference_mode`` (predict, evaluate), it is the identity, so a
model predicts on the images it is given; RandomCrop, whose output size may differ, then
takes the centre crop, the identity in the usual case of a crop of the input's own size.
backward applies the exact adjoint of the forward's linear map. The math lives in
functional.augmentation and functional.sampling.
"""

import numpy as np

from lamina.backend import get_rng
from lamina.errors import ConfigError
from lamina.functional import augmentation as F
from lamina.functional.checks import check_choice, check_dout, check_real, is_int
from lamina.functional.sampling import affine_sample_backward, affine_sample_forward
from lamina.functional.windows import pair
from lamina.layers.base import Layer
from lamina.layers.messages import shape_text


def _identity_backward(dout, shape):
    return check_dout("backward", dout, shape).copy()


def real_pair(layer, name, value, low=None, high=None):
    """A pair (lower, upper) of reals in [low, high] with lower <= upper -> a tuple of floats."""
    if not (isinstance(value, (tuple, list)) and len(value) == 2):
        raise ConfigError(f"{layer} expects {name} as a pair (lower, upper). "
                          f"Received: {name}={value!r}")
    lower, upper = (check_real(layer, name, v, low, high) for v in value)
    if lower > upper:
        raise ConfigError(f"{layer} expects {name} with lower <= upper. Received: {name}={value!r}")
    return lower, upper


class ImageAugmentation(Layer):
    """Base class of the augmentations of (N, C, H, W) images: augment(x, rng) in training,
    evaluate(x) otherwise (the identity); each returns (out, backward kernel, its cache)."""

    rng = None
    can_skip_input_grad = True

    def forward(self, x):
        x = self.check_input(x, 4, "(N, C, H, W)")
        out, backward, cache = (self.augment(x, get_rng(self.rng)) if self.training
                                else self.evaluate(x))
        self._cache = backward, cache
        return out

    def backward(self, dout, input_grad=True):
        """dx (None with input_grad=False: as a model's first layer it needs none)."""
        backward, cache = self._cache
        return backward(dout, cache) if input_grad else None

    def evaluate(self, x):
        return x.copy(), _identity_backward, x.shape

    def output_shape(self, input_shape):
        self.check_shape(input_shape, 4, "(N, C, H, W)")
        return tuple(input_shape)


class RandomFlip(ImageAugmentation):
    """Flip each image left-right ("horizontal": W reversed) and/or upside down ("vertical":
    H reversed), each with probability 1/2, as Keras' RandomFlip; "horizontal_and_vertical"
    draws the two flips independently."""

    def __init__(self, mode="horizontal_and_vertical", name=None):
        super().__init__(name)
        self.mode = check_choice(type(self).__name__, "mode", mode, F.FLIP_MODES)

    def augment(self, x, rng):
        out, cache = F.flip_forward(x, *F.draw_flips(rng, len(x), self.mode))
        return out, F.flip_backward, cache


def _crop_padding(layer, padding):
    """torchvision's padding: an int (every side), (horizontal, vertical) or (left, top,
    right, bottom), ints >= 0 -> the 4-tuple (left, top, right, bottom)."""
    widths = (padding,) * 4 if is_int(padding) else padding
    if isinstance(widths, (tuple, list)) and len(widths) == 2:
        widths = tuple(widths) * 2
    if not (isinstance(widths, (tuple, list)) and len(widths) == 4
            and all(is_int(w) and w >= 0 for w in widths)):
        raise ConfigError(f"{layer} expects padding as an int >= 0, (horizontal, vertical) or "
                          f"(left, top, right, bottom) ints >= 0. Received: padding={padding!r}")
    return tuple(int(w) for w in widths)


class RandomCrop(ImageAugmentation):
    """A random size=(h, w) window of each image zero-padded by `padding`, as torchvision's
    RandomCrop(size, padding): padding an int, (horizontal, vertical) or (left, top, right,
    bottom). (N, C, H, W) -> (N, C, h, w), each corner uniform over the padded image's
    (H + top + bottom - h + 1) x (W + left + right - w + 1) positions. Eval mode takes the
    centre window (offset (padded - size) // 2, as Keras' CenterCrop): the identity when size
    is the input's own, as in CIFAR's RandomCrop(32, padding=4)."""

    def __init__(self, size, padding=0, name=None):
        super().__init__(name)
        self.size = pair(size, "size", 1, type(self).__name__)
        self.padding = _crop_padding(type(self).__name__, padding)

    def room(self, shape, name="input shape"):
        """(rows, columns) of corner positions in the padded image; a ShapeError if none."""
        left, top, right, bottom = self.padding
        padded = (shape[2] + top + bottom, shape[3] + left + right)
        if any(size < crop for size, crop in zip(padded, self.size)):
            raise self.shape_error(f"images of at least {self.size} (height, width) once padded "
                                   f"by {self.padding} (left, top, right, bottom)",
                                   shape_text(name, shape))
        return padded[0] - self.size[0] + 1, padded[1] - self.size[1] + 1

    def _crop(self, x, tops, lefts):
        left, top = self.padding[:2]
        out, cache = affine_sample_forward(x, F.crop_transforms(tops - top, lefts - left),
                                           self.size, "nearest", "constant")
        return out, affine_sample_backward, cache

    def augment(self, x, rng):
        rows, cols = self.room(x.shape, "x.shape")
        return self._crop(x, rng.integers(0, rows, len(x)), rng.integers(0, cols, len(x)))

    def evaluate(self, x):
        rows, cols = self.room(x.shape, "x.shape")
        top, left = (rows - 1) // 2, (cols - 1) // 2
        if self.size == x.shape[2:] and (top, left) == (self.padding[1], self.padding[0]):
            return super().evaluate(x)  # the centre window is the image itself
        return self._crop(x, np.full(len(x), top), np.full(len(x), left))

    def output_shape(self, input_shape):
        self.check_shape(input_shape, 4, "(N, C, H, W)")
        if None not in input_shape[2:]:
            self.room(input_shape)
        return tuple(input_shape[:2]) + self.size


class RandomErasing(ImageAugmentation):
    """Erase a random box of each image with probability p, as torchvision's RandomErasing:
    area U(scale) of the image, aspect ratio (height / width) log-uniform in ratio, set to
    value (a number, or one per channel). See functional.draw_erasing_boxes."""

    def __init__(self, p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0.0, name=None):
        super().__init__(name)
        layer = type(self).__name__
        self.p = check_real(layer, "p", p, 0, 1)
        self.scale = real_pair(layer, "scale", scale, 0, 1)
        self.ratio = real_pair(layer, "ratio", ratio, 0)
        if self.ratio[0] == 0:
            raise ConfigError(f"{layer} expects ratio > 0. Received: ratio={ratio!r}")
        if isinstance(value, (tuple, list)):
            self.value = [check_real(layer, "value", v) for v in value]
        else:
            self.value = check_real(layer, "value", value)

    def _check_channels(self, shape, name="input shape"):
        """One value for every channel, or one per channel."""
        if (isinstance(self.value, list) and len(self.value) != 1
                and shape[1] not in (None, len(self.value))):
            raise self.shape_error(f"{len(self.value)} channels (one value each)",
                                   shape_text(name, shape))

    def output_shape(self, input_shape):
        super().output_shape(input_shape)
        self._check_channels(input_shape)
        return tuple(input_shape)

    def augment(self, x, rng):
        self._check_channels(x.shape, "x.shape")
        boxes = F.draw_erasing_boxes(rng, len(x), x.shape[2:], self.p, self.scale, self.ratio)
        out, cache = F.erase_forward(x, boxes, self.value)
        return out, F.erase_backward, cache
