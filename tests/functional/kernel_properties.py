"""Properties every parameter-free NCHW kernel pair keeps, checked by the spatial families'
tests (global_pool, adaptive_pool, upsample, padding, shuffle): gradients, dtype, purity, dout
shape and error wording."""

import numpy as np
import pytest

from lamina.errors import ShapeError
from lamina.gradcheck import check_kernel


def check(forward, backward, x, **hyper):
    assert check_kernel(forward, backward, [x], hyper)


def check_dtype_and_purity(op, dtype, rng):
    """op = (forward, backward, x shape, hyper): the dtype survives both passes, which
    mutate neither x nor dout."""
    forward, backward, shape, hyper = op
    x = rng.standard_normal(shape).astype(dtype)
    x_copy = x.copy()
    out, cache = forward(x, **hyper)
    dout = rng.standard_normal(out.shape).astype(dtype)
    dout_copy = dout.copy()
    dx = backward(dout, cache)
    assert out.dtype == dtype and dx.dtype == dtype and dx.shape == x.shape
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(dout, dout_copy)


def check_rejects_wrong_dout(op, rng):
    forward, backward, shape, hyper = op
    out, cache = forward(rng.standard_normal(shape), **hyper)
    with pytest.raises(ShapeError, match=r"Received: dout.shape=\(1, 2\)"):
        backward(np.zeros((1, 2)), cache)


def check_error_names_the_op(call, error, fragment):
    with pytest.raises(error, match=fragment) as info:
        call()
    message = str(info.value)
    assert "_forward" in message and "Received" in message
