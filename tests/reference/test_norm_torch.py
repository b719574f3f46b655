"""Batch normalisation against torch.nn.functional.batch_norm: outputs, running stats, grads."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

from lamina.functional.norm import (
    batchnorm_backward,
    batchnorm_forward,
    spatial_batchnorm_backward,
    spatial_batchnorm_forward,
)

# (x shape, eps, momentum as lamina's kept fraction)
CASES = [
    ((4, 3), 1e-5, 0.9),
    ((7, 5), 1e-3, 0.5),
    ((2, 1), 1e-5, 0.99),
    ((16, 6), 0.1, 0.0),
    ((3, 2, 4, 5), 1e-5, 0.9),
    ((2, 3, 3, 1), 1e-4, 0.7),
    ((1, 2, 3, 3), 1e-5, 0.9),
    ((5, 4, 2, 7), 1e-2, 0.25),
    ((8, 1, 6, 6), 1e-5, 0.9),
    ((2, 8, 5, 3), 1e-5, 1.0),
]
IDS = [f"x{s}-eps{e}-m{m}" for s, e, m in CASES]
PRECISIONS = [(np.float64, 1e-6, 1e-10), (np.float32, 1e-4, 1e-5)]


def kernels(ndim):
    if ndim == 2:
        return batchnorm_forward, batchnorm_backward
    return spatial_batchnorm_forward, spatial_batchnorm_backward


def make_case(rng, shape, dtype):
    features = shape[1]
    arrays = (rng.standard_normal(shape) * 1.5 + 0.3, rng.standard_normal(features),
              rng.standard_normal(features), rng.standard_normal(features),
              rng.random(features) + 0.5, rng.standard_normal(shape))
    return [a.astype(dtype) for a in arrays]


def torch_batch_norm(x, gamma, beta, running_mean, running_var, dout, training, eps, momentum):
    """torch's outputs, updated running statistics and gradients; momentum is torch's."""
    x_t, gamma_t, beta_t = (torch.from_numpy(a.copy()).requires_grad_() for a in (x, gamma, beta))
    mean_t, var_t = torch.from_numpy(running_mean.copy()), torch.from_numpy(running_var.copy())
    out_t = TF.batch_norm(x_t, mean_t, var_t, gamma_t, beta_t, training=training,
                          momentum=momentum, eps=eps)
    out_t.backward(torch.from_numpy(dout))
    return (out_t.detach().numpy(), mean_t.numpy(), var_t.numpy(), x_t.grad.numpy(),
            gamma_t.grad.numpy(), beta_t.grad.numpy())


def assert_all_close(names, ours, theirs, rtol, atol):
    for name, mine, reference in zip(names, ours, theirs):
        assert mine.dtype == reference.dtype, name
        np.testing.assert_allclose(mine, reference, rtol=rtol, atol=atol,
                                   err_msg=f"{name}: lamina (actual) vs torch (desired)")


@pytest.mark.parametrize("mode", ["train", "test"])
@pytest.mark.parametrize("dtype, rtol, atol", PRECISIONS)
@pytest.mark.parametrize("shape, eps, momentum", CASES, ids=IDS)
def test_matches_torch(shape, eps, momentum, dtype, rtol, atol, mode, rng):
    """Output, running statistics and all three gradients; 'test' uses the running stats."""
    forward, backward = kernels(len(shape))
    x, gamma, beta, running_mean, running_var, dout = make_case(rng, shape, dtype)
    bn_param = {"mode": mode, "eps": eps, "momentum": momentum, "unbiased": True,
                "running_mean": running_mean, "running_var": running_var}
    out, cache = forward(x, gamma, beta, bn_param)
    ours = (out, bn_param["running_mean"], bn_param["running_var"]) + backward(dout, cache)
    theirs = torch_batch_norm(x, gamma, beta, running_mean, running_var, dout, mode == "train",
                              eps, 1.0 - momentum)
    names = ("out", "running_mean", "running_var", "dx", "dgamma", "dbeta")
    assert_all_close(names, ours, theirs, rtol, atol)
