import numpy as np
import pytest

from lamina.errors import ShapeError
from lamina.functional import augmentation as F
from lamina.functional.sampling import affine_sample_forward
from lamina.gradcheck import check_kernel


def test_flips_reverse_the_chosen_axes_of_the_chosen_images(rng):
    x = rng.standard_normal((4, 2, 3, 5))
    horizontal = np.array([True, False, True, False])
    vertical = np.array([False, False, True, True])
    out, _ = F.flip_forward(x, horizontal, vertical)
    expected = [x[0, :, :, ::-1], x[1], x[2, :, ::-1, ::-1], x[3, :, ::-1]]
    np.testing.assert_array_equal(out, np.stack(expected))


def test_flip_backward_is_the_adjoint(rng):
    masks = np.array([True, False, True]), np.array([True, True, False])
    check_kernel(lambda x: F.flip_forward(x, *masks), F.flip_backward,
                 [rng.standard_normal((3, 2, 3, 4))])


@pytest.mark.parametrize("mode, flips_h, flips_v", [("horizontal", True, False),
                                                     ("vertical", False, True),
                                                     ("horizontal_and_vertical", True, True)])
def test_draw_flips_flips_half_of_the_images_on_the_mode_axes(mode, flips_h, flips_v):
    horizontal, vertical = F.draw_flips(np.random.default_rng(0), 20000, mode)
    for drawn, flips in ((horizontal, flips_h), (vertical, flips_v)):
        assert abs(drawn.mean() - 0.5) < 0.02 if flips else not drawn.any()
    if mode == "horizontal_and_vertical":  # independent: each of the four cases ~1/4
        both = np.bincount(horizontal * 2 + vertical, minlength=4) / 20000
        np.testing.assert_allclose(both, 0.25, atol=0.02)


def test_quarter_turns_of_a_square_image_are_exact(rng):
    x = rng.standard_normal((4, 2, 5, 5))
    angles = np.array([0.5, 1.0, 1.5, -0.5]) * np.pi
    out, _ = affine_sample_forward(x, F.rotation_transforms(angles, (5, 5)), fill_mode="constant")
    expected = [np.rot90(x[0], 1, (1, 2)), np.rot90(x[1], 2, (1, 2)), np.rot90(x[2], 3, (1, 2)),
                np.rot90(x[3], -1, (1, 2))]  # positive: counter-clockwise, as np.rot90
    np.testing.assert_array_equal(out, np.stack(expected))


def test_translation_moves_down_and_right(rng):
    x = rng.standard_normal((1, 1, 4, 4))
    out, _ = affine_sample_forward(x, F.translation_transforms([1], [2]))
    np.testing.assert_array_equal(out[0, 0, 1:, 2:], x[0, 0, :3, :2])
    assert not out[0, 0, 0].any() and not out[0, 0, :, :2].any()


def test_crop_transforms_read_the_window_at_each_corner(rng):
    x = rng.standard_normal((2, 1, 5, 5))
    out, _ = affine_sample_forward(x, F.crop_transforms([0, 2], [1, 3]), (3, 2), "nearest")
    np.testing.assert_array_equal(out[0], x[0, :, 0:3, 1:3])
    np.testing.assert_array_equal(out[1], x[1, :, 2:5, 3:5])


def boxes_drawn(n=4000, hw=(8, 12), p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3)):
    return F.draw_erasing_boxes(np.random.default_rng(0), n, hw, p, scale, ratio)


def test_erasing_boxes_fit_inside_and_follow_p_and_scale():
    boxes = boxes_drawn()
    top, left, height, width = boxes.T
    erased = height > 0
    assert abs(erased.mean() - 0.5) < 0.03
    assert (top + height <= 8).all() and (left + width <= 12).all() and (top >= 0).all()
    assert (height[erased] < 8).all() and (width[erased] < 12).all()
    assert (width[~erased] == 0).all()
    area = height[erased] * width[erased] / 96
    assert area.min() < 0.05 and 0.3 < area.max() < 0.45  # rounding of h and w widens U(scale)
    assert set(top[erased]) == set(range(8)) and set(left[erased]) == set(range(12))


def test_erasing_never_and_always():
    assert not boxes_drawn(p=0.0)[:, 2].any()
    assert (boxes_drawn(p=1.0)[:, 2] > 0).all()
    assert not boxes_drawn(p=1.0, scale=(0.99, 1.0))[:, 2].any()  # no box fits: none erased


def test_erase_sets_each_box_to_the_value_per_channel(rng):
    x = rng.standard_normal((2, 2, 4, 5))
    boxes = np.array([[1, 2, 2, 3], [0, 0, 0, 0]])
    out, cache = F.erase_forward(x, boxes, [7.0, -1.0])
    expected = x.copy()
    expected[0, 0, 1:3, 2:5], expected[0, 1, 1:3, 2:5] = 7.0, -1.0
    np.testing.assert_array_equal(out, expected)
    check_kernel(lambda x: F.erase_forward(x, boxes, 3.0), F.erase_backward, [x])
    with pytest.raises(ShapeError, match="erase_backward expects dout"):
        F.erase_backward(np.zeros((2, 2, 4, 4)), cache)
