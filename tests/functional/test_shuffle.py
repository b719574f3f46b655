"""Channel shuffle kernels: gradients, the permutation and its inverse, dtype, purity and
errors."""

import numpy as np
import pytest

from lamina.errors import ConfigError, ShapeError
from lamina.functional.shuffle import channel_shuffle_backward, channel_shuffle_forward
from tests.functional.kernel_properties import check, check_error_names_the_op

OPS = {
    "shuffle": (channel_shuffle_forward, channel_shuffle_backward, (2, 6, 3, 2), dict(groups=3)),
}


@pytest.mark.parametrize("shape, groups", [((2, 6, 3, 2), 2), ((2, 6, 3, 2), 3), ((1, 4, 5), 4),
                                           ((3, 5, 2, 2), 1)], ids=str)
def test_channel_shuffle_gradcheck_and_permutation(shape, groups, rng):
    x = rng.standard_normal(shape)
    check(channel_shuffle_forward, channel_shuffle_backward, x, groups=groups)
    out, cache = channel_shuffle_forward(x, groups)
    per_group = shape[1] // groups
    order = [g * per_group + k for k in range(per_group) for g in range(groups)]
    np.testing.assert_array_equal(out, x[:, order])
    np.testing.assert_array_equal(channel_shuffle_backward(out, cache), x)  # the inverse
    assert not np.shares_memory(out, x)


X = np.zeros((1, 2, 4, 4))


@pytest.mark.parametrize("call, error, fragment", [
    (lambda: channel_shuffle_forward(X, 3), ConfigError, r"groups=3, x.shape=\(1, 2, 4, 4\)"),
    (lambda: channel_shuffle_forward(np.zeros((2, 4)), 2), ShapeError, "at least 3"),
])
def test_errors_name_the_op_and_what_arrived(call, error, fragment):
    check_error_names_the_op(call, error, fragment)
