"""affine and the activations against torch autograd, float64 at rtol 1e-6."""

import numpy as np
import pytest
import torch

from lamina.functional import activation as A
from lamina.functional.linear import affine_backward, affine_forward

RTOL, ATOL = 1e-6, 1e-10


def _torch_grads(fn, arrays, dout):
    tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*tensors)
    out.backward(torch.tensor(dout))
    return out.detach().numpy(), [t.grad.numpy() for t in tensors]


@pytest.mark.parametrize("x_shape, m", [((5, 7), 3), ((3, 2, 3, 5), 4), ((1, 9), 1)])
def test_affine_matches_torch(rng, x_shape, m):
    d = int(np.prod(x_shape[1:]))
    x, w, b = rng.standard_normal(x_shape), rng.standard_normal((d, m)), rng.standard_normal(m)
    out, cache = affine_forward(x, w, b)
    dout = rng.standard_normal(out.shape)
    expected, grads = _torch_grads(lambda x, w, b: x.reshape(x.shape[0], -1) @ w + b, [x, w, b], dout)
    np.testing.assert_allclose(out, expected, rtol=RTOL, atol=ATOL)
    for ours, theirs in zip(affine_backward(dout, cache), grads):
        np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name, torch_fn", [
    ("relu", torch.relu), ("sigmoid", torch.sigmoid), ("tanh", torch.tanh),
    ("softmax", lambda t: torch.softmax(t, dim=1)),
])
@pytest.mark.parametrize("shape", [(4, 7), (2, 3, 5, 3)])
def test_activations_match_torch(rng, name, torch_fn, shape):
    x = rng.standard_normal(shape) * 3
    x[0, 0] = 0.0  # ReLU's kink: both give gradient 0 there
    out, cache = getattr(A, f"{name}_forward")(x)
    dout = rng.standard_normal(shape)
    expected, (grad,) = _torch_grads(torch_fn, [x], dout)
    np.testing.assert_allclose(out, expected, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(getattr(A, f"{name}_backward")(dout, cache), grad, rtol=RTOL, atol=ATOL)


def test_softmax_last_axis_float32_matches_torch(rng):
    x = (rng.standard_normal((6, 10)) * 20).astype(np.float32)
    out, cache = A.softmax_forward(x, axis=-1)
    dout = rng.standard_normal(x.shape).astype(np.float32)
    expected, (grad,) = _torch_grads(lambda t: torch.softmax(t, dim=-1), [x], dout)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(A.softmax_backward(dout, cache), grad, rtol=1e-4, atol=1e-6)
