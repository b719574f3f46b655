"""The activation layers (and through them their kernels) against torch.nn, outputs and input
gradients: float64 to rtol 1e-6 on awkward shapes and saturating inputs, float32 to 1e-4 with
no upcast, and the sub-gradient at every kink exactly where PyTorch defines it."""

import numpy as np
import pytest
import torch
from torch import nn

from lamina import layers as L

PAIRS = {  # name -> (lamina layer factory, torch module factory)
    "relu6": (L.ReLU6, nn.ReLU6),
    "leaky_relu": (L.LeakyReLU, nn.LeakyReLU),
    "leaky_relu-0.2": (lambda: L.LeakyReLU(0.2), lambda: nn.LeakyReLU(0.2)),
    "leaky_relu-negative-1.5": (lambda: L.LeakyReLU(-1.5), lambda: nn.LeakyReLU(-1.5)),
    "elu": (L.ELU, nn.ELU),
    "elu-alpha0.3": (lambda: L.ELU(0.3), lambda: nn.ELU(0.3)),
    "elu-alpha2.5": (lambda: L.ELU(2.5), lambda: nn.ELU(2.5)),
    "gelu": (L.GELU, nn.GELU),
    "gelu-tanh": (lambda: L.GELU("tanh"), lambda: nn.GELU("tanh")),
    "silu": (L.SiLU, nn.SiLU),
    "softplus": (L.Softplus, nn.Softplus),
    "softplus-beta2-threshold5": (lambda: L.Softplus(2.0, 5.0), lambda: nn.Softplus(2.0, 5.0)),
    "softplus-beta0.5-threshold1": (lambda: L.Softplus(0.5, 1.0), lambda: nn.Softplus(0.5, 1.0)),
    "hardsigmoid": (L.HardSigmoid, nn.Hardsigmoid),
    "hardswish": (L.HardSwish, nn.Hardswish),
    "log_softmax": (L.LogSoftmax, lambda: nn.LogSoftmax(dim=1)),
    "log_softmax-last": (lambda: L.LogSoftmax(-1), lambda: nn.LogSoftmax(dim=-1)),
    "log_softmax-axis0": (lambda: L.LogSoftmax(0), lambda: nn.LogSoftmax(dim=0)),
}
KINKS = [-3.0, 0.0, 3.0, 6.0, 2.5, 1.0, 0.5]  # ReLU6, hard*, LeakyReLU/ELU; softplus thresholds


def compare(layer, module, x, label, dtype=np.float64, rtol=1e-6, atol=1e-10, seed=0):
    x = np.asarray(x, dtype=dtype)
    dout = np.random.default_rng(seed).standard_normal(x.shape).astype(dtype)
    out = layer.forward(x.copy())
    dx = layer.backward(dout.copy())
    x_torch = torch.tensor(x, requires_grad=True)
    out_torch = module(x_torch)
    out_torch.backward(torch.from_numpy(dout))
    assert out.dtype == dtype and dx.dtype == dtype, f"{label}: {out.dtype}/{dx.dtype}"
    np.testing.assert_allclose(out, out_torch.detach().numpy(), rtol=rtol, atol=atol,
                               err_msg=f"{label}: forward (lamina vs torch)")
    np.testing.assert_allclose(dx, x_torch.grad.numpy(), rtol=rtol, atol=atol,
                               err_msg=f"{label}: input gradient (lamina vs torch)")


def awkward_input(shape, seed):
    """Standard normal, a fifth of it scaled to |x| ~ 20-40 (saturation), kinks planted."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * np.where(rng.random(shape) < 0.2, 15.0, 2.5)
    flat = x.reshape(-1)
    flat[:len(KINKS)] = KINKS[:flat.size]
    return x


@pytest.mark.parametrize("pair", PAIRS.values(), ids=list(PAIRS))
@pytest.mark.parametrize("shape", [(4, 7), (3, 2, 5, 3), (1, 1), (9, 1, 3)], ids=str)
def test_matches_torch_float64(pair, shape):
    ours, theirs = pair
    compare(ours(), theirs(), awkward_input(shape, 1), f"{ours} x{shape}")


@pytest.mark.parametrize("pair", PAIRS.values(), ids=list(PAIRS))
def test_matches_torch_float32(pair):
    ours, theirs = pair
    layer, module = ours(), theirs().to(torch.float32)
    compare(layer, module, awkward_input((5, 6, 3), 2), f"{ours} float32", dtype=np.float32,
            rtol=1e-4, atol=1e-5)


KINK_POINTS = {  # every kink of each function, its neighbours, and nothing else
    "relu6": [-1.0, 0.0, 6.0, 5.999, 6.001],
    "leaky_relu-0.2": [0.0, -1e-300, 1e-300],
    "elu-alpha0.3": [0.0, -1e-300, 1e-300],
    "hardsigmoid": [-3.0, 3.0, -2.999, 2.999, -3.001, 3.001],
    "hardswish": [-3.0, 3.0, -2.999, 2.999, -3.001, 3.001],
    "softplus": [20.0, 19.999, 20.001],
    "softplus-beta2-threshold5": [2.5, 2.499, 2.501],
}


@pytest.mark.parametrize("name", list(KINK_POINTS))
def test_subgradient_at_kinks_equals_torch(name):
    ours, theirs = PAIRS[name]
    x = np.array([KINK_POINTS[name]])
    # dout of ones: the gradient itself is compared, entry by entry
    layer, module = ours(), theirs()
    out = layer.forward(x)
    dx = layer.backward(np.ones_like(out))
    x_torch = torch.tensor(x, requires_grad=True)
    module(x_torch).sum().backward()
    np.testing.assert_allclose(dx, x_torch.grad.numpy(), rtol=1e-7, atol=0,
                               err_msg=f"{name}: gradient at x = {x.tolist()}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_inputs_match_torch(dtype):
    x = np.array([[-1e4, -100.0, -30.0, 30.0, 100.0, 1e4]], dtype)
    for name in ("gelu", "gelu-tanh", "silu", "softplus", "elu", "hardswish", "log_softmax"):
        ours, theirs = PAIRS[name]
        compare(ours(), theirs().to(torch.float64 if dtype == np.float64 else torch.float32), x,
                f"{name} extreme", dtype=dtype, rtol=1e-6 if dtype == np.float64 else 1e-5,
                atol=1e-30)
