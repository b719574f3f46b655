"""The augmentation and preprocessing layers against Keras 3's (torch backend): the affine
resampling in every fill mode and interpolation, rotations and translations of a fixed size,
and Normalization's adapted statistics."""

import os

import numpy as np
import pytest

from lamina import layers as L
from lamina.functional.sampling import FILL_MODES, INTERPOLATIONS, affine_sample_forward

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")


def as_numpy(tensor):
    """A torch-backend result as an array (torch's .numpy(): np.array() of a tensor warns)."""
    return tensor.detach().cpu().numpy()


@pytest.mark.parametrize("fill_mode", FILL_MODES)
@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
def test_sampling_matches_keras_affine_transform(fill_mode, interpolation, rng):
    x = rng.standard_normal((3, 2, 5, 7))
    transforms = rng.uniform(-1.5, 1.5, (3, 6)) + [1, 0, 0, 0, 1, 0]
    ours, _ = affine_sample_forward(x, transforms, None, interpolation, fill_mode, 0.7)
    theirs = keras.ops.image.affine_transform(
        x, np.concatenate([transforms, np.zeros((3, 2))], axis=1), interpolation=interpolation,
        fill_mode=fill_mode, fill_value=0.7, data_format="channels_first")
    np.testing.assert_allclose(ours, as_numpy(theirs), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("factor", [0.1, -0.3, 0.25, 0.5])
@pytest.mark.parametrize("fill_mode", FILL_MODES)
def test_rotation_matches_keras(factor, fill_mode, rng):
    x = rng.standard_normal((2, 3, 6, 5)).astype(np.float32)
    ours = L.RandomRotation((factor, factor), fill_mode=fill_mode, fill_value=0.5).forward(x)
    theirs = keras.layers.RandomRotation((factor, factor), fill_mode=fill_mode, fill_value=0.5,
                                         data_format="channels_first")(x, training=True)
    np.testing.assert_allclose(ours, as_numpy(theirs), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("height, width", [(0.2, -0.3), (-0.5, 0.25), (0.35, 0.0)])
@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
def test_translation_matches_keras(height, width, interpolation, rng):
    x = rng.standard_normal((2, 3, 6, 8)).astype(np.float32)
    ours = L.RandomTranslation((height, height), (width, width), interpolation=interpolation)
    theirs = keras.layers.RandomTranslation((height, height), (width, width),
                                            interpolation=interpolation,
                                            data_format="channels_first")
    np.testing.assert_allclose(ours.forward(x), as_numpy(theirs(x, training=True)), rtol=1e-5,
                               atol=1e-5)


def test_normalization_adapts_as_keras(rng):
    x = rng.standard_normal((20, 3, 4, 4)).astype(np.float32) * 4 + 2
    ours = L.Normalization(axis=1)
    ours.adapt(x)
    theirs = keras.layers.Normalization(axis=1)
    theirs.adapt(x)
    np.testing.assert_allclose(ours.forward(x), as_numpy(theirs(x)), rtol=1e-5, atol=1e-5)
    inverse = L.Normalization(axis=1, mean=ours.mean.tolist(), variance=ours.variance.tolist(),
                              invert=True)
    keras_inverse = keras.layers.Normalization(axis=1, mean=ours.mean, variance=ours.variance,
                                               invert=True)
    np.testing.assert_allclose(inverse.forward(x), as_numpy(keras_inverse(x)), rtol=1e-5)
