"""Augmentation layers that resample each image through a random affine map (NCHW), active
only in training: RandomTranslation and RandomRotation, as Keras' (see layers.augmentation for
the randomness and the modes; functional.sampling for the resampling)."""

import math

from lamina.functional import augmentation as F
from lamina.errors import ConfigError
from lamina.functional.checks import check_bool, check_choice, check_real
from lamina.functional.sampling import (FILL_MODES, INTERPOLATIONS, affine_sample_backward,
                                        affine_sample_forward)
from lamina.layers.augmentation import ImageAugmentation, real_pair


def _factor_range(layer, name, factor):
    """Keras' factor: f in [-1, 1] means U(-|f|, |f|); a pair (lower, upper), U(lower, upper)."""
    if isinstance(factor, (tuple, list)):
        return real_pair(layer, name, factor, -1, 1)
    magnitude = abs(check_real(layer, name, factor, -1, 1))
    return -magnitude, magnitude


class _RandomAffine(ImageAugmentation):
    """An augmentation that resamples each image through a random affine map (Keras'
    fill_mode, interpolation and fill_value; see functional.sampling)."""

    def __init__(self, fill_mode, interpolation, fill_value, name):
        super().__init__(name)
        layer = type(self).__name__
        self.fill_mode = check_choice(layer, "fill_mode", fill_mode, FILL_MODES)
        self.interpolation = check_choice(layer, "interpolation", interpolation, INTERPOLATIONS)
        self.fill_value = check_real(layer, "fill_value", fill_value)

    def augment(self, x, rng):
        out, cache = affine_sample_forward(x, self.transforms(x.shape, rng), None,
                                           self.interpolation, self.fill_mode, self.fill_value)
        return out, affine_sample_backward, cache


class RandomTranslation(_RandomAffine):
    """Move each image by U(height_factor) * H rows and U(width_factor) * W columns (may be
    fractional), as Keras' RandomTranslation: a factor f in [-1, 1] is U(-|f|, |f|), a pair
    (lower, upper) U(lower, upper); positive moves down / right. What comes in from outside
    follows fill_mode ("reflect", "wrap", "nearest" or "constant" with fill_value)."""

    def __init__(self, height_factor, width_factor, fill_mode="reflect", interpolation="bilinear",
                 fill_value=0.0, name=None):
        super().__init__(fill_mode, interpolation, fill_value, name)
        layer = type(self).__name__
        self.height_range = _factor_range(layer, "height_factor", height_factor)
        self.width_range = _factor_range(layer, "width_factor", width_factor)
        self.height_factor, self.width_factor = height_factor, width_factor

    def transforms(self, shape, rng):
        down = rng.uniform(*self.height_range, shape[0]) * shape[2]
        right = rng.uniform(*self.width_range, shape[0]) * shape[3]
        return F.translation_transforms(down, right)


class RandomRotation(_RandomAffine):
    """Rotate each image about its centre by U(factor) * 2*pi radians, counter-clockwise for a
    positive angle, as Keras' RandomRotation (factor f in [-1, 1]: U(-|f|, |f|); a pair:
    U(lower, upper)). Quarter turns of a square image are exact; other angles interpolate
    bilinearly (or nearest), corners coming in by fill_mode.

    quarter_turns=True rotates by whole quarter turns only: k * 90 degrees, k drawn uniformly
    from the integers k with k / 4 in the factor's range (factor=0.5: k in -2..2), which
    moves pixels exactly and needs square images.
    """

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", fill_value=0.0,
                 quarter_turns=False, name=None):
        super().__init__(fill_mode, interpolation, fill_value, name)
        layer = type(self).__name__
        self.factor_range = _factor_range(layer, "factor", factor)
        self.factor = factor
        self.quarter_turns = check_bool(layer, "quarter_turns", quarter_turns)
        if quarter_turns:
            self.turns = (math.ceil(self.factor_range[0] * 4), math.floor(self.factor_range[1] * 4))
            if self.turns[0] > self.turns[1] or self.turns == (0, 0):
                raise ConfigError(f"{layer}(quarter_turns=True) expects a factor range holding "
                                  f"a nonzero multiple of 0.25 (a whole quarter turn). Received: "
                                  f"factor={factor!r}")

    def transforms(self, shape, rng):
        if self.quarter_turns:
            if shape[2] != shape[3]:
                raise self.shape_error("square images (H == W) for quarter turns",
                                       f"x.shape={tuple(shape)}")
            angles = rng.integers(self.turns[0], self.turns[1] + 1, shape[0]) * (math.pi / 2)
        else:
            angles = rng.uniform(*self.factor_range, shape[0]) * (2 * math.pi)
        return F.rotation_transforms(angles, shape[2:])
