import numpy as np
import pytest

from lamina.errors import ConfigError, ShapeError
from lamina.functional.sampling import (FILL_MODES, INTERPOLATIONS, affine_sample_backward,
                                        affine_sample_forward)
from lamina.gradcheck import check_kernel


def random_transforms(rng, n):
    """Maps mixing rotation, shear, scale and offsets that read well outside the image."""
    return rng.uniform(-1.5, 1.5, (n, 6)) + [1, 0, 0, 0, 1, 0]


def sample(x, transforms, out_hw=None, interpolation="bilinear", fill_mode="constant",
           fill_value=0.0):
    return affine_sample_forward(x, transforms, out_hw, interpolation, fill_mode, fill_value)


def naive_sample(x, transform, out_hw, interpolation, fill_mode, fill_value):
    """One image, pixel by pixel: the definition in the module doc, written out."""
    C, H, W = x.shape
    a0, a1, a2, b0, b1, b2 = transform
    out = np.zeros((C,) + out_hw)

    def value(i, j):
        if fill_mode == "constant" and not (0 <= i < H and 0 <= j < W):
            return np.full(C, fill_value)
        if fill_mode == "nearest":
            i, j = min(max(i, 0), H - 1), min(max(j, 0), W - 1)
        elif fill_mode == "wrap":
            i, j = i % H, j % W
        elif fill_mode == "reflect":
            i, j = (i % (2 * H)), (j % (2 * W))
            i, j = (i if i < H else 2 * H - 1 - i), (j if j < W else 2 * W - 1 - j)
        return x[:, i, j]

    for r in range(out_hw[0]):
        for c in range(out_hw[1]):
            col, row = a0 * c + a1 * r + a2, b0 * c + b1 * r + b2
            if interpolation == "nearest":
                out[:, r, c] = value(int(np.floor(row + 0.5)), int(np.floor(col + 0.5)))
                continue
            r0, c0 = int(np.floor(row)), int(np.floor(col))
            fr, fc = row - r0, col - c0
            out[:, r, c] = ((1 - fr) * (1 - fc) * value(r0, c0) + (1 - fr) * fc * value(r0, c0 + 1)
                            + fr * (1 - fc) * value(r0 + 1, c0) + fr * fc * value(r0 + 1, c0 + 1))
    return out


@pytest.mark.parametrize("fill_mode", FILL_MODES)
@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("out_hw", [None, (3, 6)])
def test_forward_matches_the_pixel_by_pixel_definition(fill_mode, interpolation, out_hw, rng):
    x = rng.standard_normal((3, 2, 4, 5))
    transforms = random_transforms(rng, 3)
    out, _ = sample(x, transforms, out_hw, interpolation, fill_mode, 0.7)
    expected = np.stack([naive_sample(x[n], transforms[n], out_hw or (4, 5), interpolation,
                                      fill_mode, 0.7) for n in range(3)])
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("fill_mode", FILL_MODES)
@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
def test_backward_is_the_exact_adjoint(fill_mode, interpolation, rng):
    transforms = random_transforms(rng, 2)
    check_kernel(sample, affine_sample_backward, [rng.standard_normal((2, 3, 4, 5)), transforms],
                 hyper={"out_hw": (5, 3), "interpolation": interpolation, "fill_mode": fill_mode,
                        "fill_value": 0.5}, wrt=[0])


def test_adjoint_identity_holds_where_many_outputs_read_one_pixel(rng):
    """<A x, y> == <x, A^T y> for a map that squeezes the image (each input read many times)."""
    x, y = rng.standard_normal((2, 2, 3, 3)), rng.standard_normal((2, 2, 7, 7))
    squeeze = np.array([[0.2, 0.05, 0.4, -0.1, 0.3, 0.5]] * 2)
    out, cache = sample(x, squeeze, (7, 7), fill_mode="reflect")
    np.testing.assert_allclose(np.sum(out * y), np.sum(x * affine_sample_backward(y, cache)),
                               rtol=1e-12)


def test_identity_map_and_integer_shift_are_exact(rng):
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    same, _ = sample(x, [[1, 0, 0, 0, 1, 0]] * 2)
    np.testing.assert_array_equal(same, x)
    shifted, _ = sample(x, [[1, 0, -2, 0, 1, 1]] * 2)  # reads x[r + 1, c - 2]
    np.testing.assert_array_equal(shifted[:, :, :3, 2:], x[:, :, 1:, :3])
    assert shifted.dtype == np.float32 and not shifted[:, :, 3].any() and not shifted[..., :2].any()


def test_float32_stays_float32_and_gradients_too(rng):
    x = rng.standard_normal((1, 1, 3, 3)).astype(np.float32)
    out, cache = sample(x, [[0.9, 0.1, 0.2, -0.1, 0.9, 0.3]], fill_mode="wrap")
    assert out.dtype == np.float32
    assert affine_sample_backward(np.ones_like(out), cache).dtype == np.float32


def test_bad_arguments_are_named(rng):
    x = rng.standard_normal((2, 1, 3, 3))
    with pytest.raises(ShapeError, match=r"expects transforms of shape \(N, 6\) = \(2, 6\), "
                                         r"one per image. Received: transforms.shape=\(1, 6\)"):
        sample(x, [[1, 0, 0, 0, 1, 0]])
    with pytest.raises(ConfigError, match="fill_mode as one of 'constant', 'nearest', 'reflect', "
                                          "'wrap'. Received: fill_mode='mirror'"):
        sample(x, np.zeros((2, 6)), fill_mode="mirror")
    with pytest.raises(ConfigError, match="interpolation .* Received: interpolation='cubic'"):
        sample(x, np.zeros((2, 6)), interpolation="cubic")
    _, cache = sample(x, np.zeros((2, 6)))
    with pytest.raises(ShapeError, match=r"dout of the forward output's shape \(2, 1, 3, 3\)"):
        affine_sample_backward(np.zeros((2, 1, 3, 4)), cache)
