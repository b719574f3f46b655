import numpy as np
import pytest

from lamina.errors import DTypeError, ShapeError
from lamina.functional.linear import affine_backward, affine_forward
from lamina.gradcheck import check_kernel


@pytest.mark.parametrize("x_shape, m", [((4, 5), 3), ((3, 2, 3, 2), 7), ((1, 1), 1), ((5, 7), 2)])
@pytest.mark.parametrize("bias", [True, False])
def test_gradcheck(rng, x_shape, m, bias):
    d = int(np.prod(x_shape[1:]))
    x, w = rng.standard_normal(x_shape), rng.standard_normal((d, m))
    b = rng.standard_normal(m) if bias else None
    check_kernel(affine_forward, affine_backward, [x, w, b])


def test_values_shapes_and_no_bias_gradient(rng):
    x, w, b = rng.standard_normal((2, 3, 2)), rng.standard_normal((6, 4)), rng.standard_normal(4)
    out, cache = affine_forward(x, w, b)
    np.testing.assert_allclose(out, x.reshape(2, 6) @ w + b, rtol=1e-12)
    dx, dw, db = affine_backward(np.ones((2, 4)), cache)
    assert dx.shape == x.shape and dw.shape == w.shape and db.shape == b.shape
    # gradients are sums over the batch, never means (only the loss divides by N)
    np.testing.assert_allclose(db, [2.0] * 4)
    _, cache = affine_forward(x, w, None)
    assert affine_backward(np.ones((2, 4)), cache)[2] is None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_preserved_and_inputs_unchanged(rng, dtype):
    x, w, b = (rng.standard_normal(s).astype(dtype) for s in [(3, 4), (4, 2), (2,)])
    copies = [a.copy() for a in (x, w, b)]
    out, cache = affine_forward(x, w, b)
    grads = affine_backward(np.ones_like(out), cache)
    assert out.dtype == dtype and all(g.dtype == dtype for g in grads)
    for a, c in zip((x, w, b), copies):
        np.testing.assert_array_equal(a, c)


def test_errors(rng):
    with pytest.raises(ShapeError, match=r"expects x with 5 features.*Received: x.shape=\(2, 4\)"):
        affine_forward(rng.standard_normal((2, 4)), rng.standard_normal((5, 3)), None)
    with pytest.raises(ShapeError, match=r"b of shape \(3,\).*Received: b.shape=\(2,\)"):
        affine_forward(rng.standard_normal((2, 5)), rng.standard_normal((5, 3)), np.zeros(2))
    with pytest.raises(DTypeError, match="floating"):
        affine_forward(np.ones((2, 5), dtype=np.int64), rng.standard_normal((5, 3)), None)


def test_input_grad_false_skips_only_dx(rng):
    x, w, b = rng.standard_normal((3, 2, 2)), rng.standard_normal((4, 5)), rng.standard_normal(5)
    out, cache = affine_forward(x, w, b)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = affine_backward(dout, cache)
    none, dw_only, db_only = affine_backward(dout, cache, input_grad=False)
    assert none is None and dx.shape == x.shape
    np.testing.assert_array_equal(dw_only, dw)
    np.testing.assert_array_equal(db_only, db)
