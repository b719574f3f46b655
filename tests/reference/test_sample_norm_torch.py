"""Layer, group and instance norm against PyTorch: kernels against torch.nn.functional, layers
against torch.nn modules; outputs, dx, dgamma, dbeta and instance norm's running statistics.

x is drawn off-centre with per-row spreads that differ, so a statistic over the wrong axes
shows. float64 holds to rtol 1e-6; float32 to rtol 1e-4 with every result still float32.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from torch import nn

from lamina import layers as L
from lamina.functional.sample_norm import (
    group_norm_backward,
    group_norm_forward,
    instance_norm_backward,
    instance_norm_forward,
    instance_norm_running_stats,
    layer_norm_backward,
    layer_norm_forward,
)
from tests.reference.test_layers_torch import compare, setup_pair

PRECISIONS = {"float64": (np.float64, 1e-6, 1e-10), "float32": (np.float32, 1e-4, 1e-5)}


def make_x(rng, shape, dtype=np.float64):
    """Off-centre values whose scale differs along the first two axes."""
    per_row = shape[:2] + (1,) * (len(shape) - 2)
    scale, offset = rng.uniform(0.2, 4.0, per_row), rng.standard_normal(per_row) + 0.7
    return (scale * rng.standard_normal(shape) + offset).astype(dtype)


def make_affine(rng, shape, affine, dtype):
    gamma = (rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)).astype(dtype)
    beta = rng.standard_normal(shape).astype(dtype)
    return (gamma if affine[0] else None), (beta if affine[1] else None)


def torch_grads(torch_fn, x, params, dout, **kwargs):
    """torch's output, dx and the gradient of each non-None parameter (None where absent)."""
    x_t = torch.from_numpy(x.copy()).requires_grad_()
    params_t = [None if p is None else torch.from_numpy(p.copy()).requires_grad_() for p in params]
    out_t = torch_fn(x_t, *params_t, **kwargs)
    out_t.backward(torch.from_numpy(dout))
    grads = [None if p is None else p.grad.numpy() for p in params_t]
    return [out_t.detach().numpy(), x_t.grad.numpy()] + grads


def assert_matches(label, ours, theirs, dtype, rtol, atol):
    names = ("out", "dx", "dgamma", "dbeta")
    for name, mine, reference in zip(names, ours, theirs):
        if reference is None:
            assert mine is None, f"{label}: {name} should be None (no such parameter)"
            continue
        assert mine.dtype == dtype, f"{label}: {name} is {mine.dtype}, expected {np.dtype(dtype)}"
        np.testing.assert_allclose(mine, reference, rtol=rtol, atol=atol,
                                   err_msg=f"{label}: {name} (lamina vs torch)")


# -- kernels ------------------------------------------------------------------------------------
LAYER_CASES = {  # (x shape, normalized_shape, (gamma?, beta?), eps)
    "1-trailing": ((5, 7), (7,), (True, True), 1e-5),
    "2-trailing-odd": ((3, 4, 5, 3), (5, 3), (True, True), 1e-5),
    "3-trailing-batch1": ((1, 3, 5, 2), (3, 5, 2), (True, False), 1e-3),
    "1-trailing-of-4d": ((2, 3, 4, 9), (9,), (False, False), 1e-5),
    "size-1": ((4, 3, 1), (1,), (True, True), 1e-5),
}


@pytest.mark.parametrize("precision", PRECISIONS.values(), ids=list(PRECISIONS))
@pytest.mark.parametrize("case", LAYER_CASES.values(), ids=list(LAYER_CASES))
def test_layer_norm_kernel(case, precision):
    x_shape, shape, affine, eps = case
    dtype, rtol, atol = precision
    rng = np.random.default_rng(20)
    x = make_x(rng, x_shape, dtype)
    gamma, beta = make_affine(rng, shape, affine, dtype)
    dout = rng.standard_normal(x_shape).astype(dtype)
    if shape == (1,):  # exact answer dx = 0; torch's float32 leaves ~1e-5 of rounding
        atol = max(atol, 1e-4)
    out, cache = layer_norm_forward(x, gamma, beta, shape, eps)
    ours = (out,) + layer_norm_backward(dout, cache)
    theirs = torch_grads(lambda *a: TF.layer_norm(a[0], shape, a[1], a[2], eps), x,
                         (gamma, beta), dout)
    assert_matches(f"layer_norm x{x_shape} over {shape}", ours, theirs, dtype, rtol, atol)


GROUP_CASES = {  # (x shape, num_groups, (gamma?, beta?), eps)
    "groups3-H!=W": ((2, 6, 5, 3), 3, (True, True), 1e-5),
    "odd-C-G1": ((3, 5, 4, 7), 1, (True, True), 1e-5),
    "G=C-batch1": ((1, 7, 3, 2), 7, (True, True), 1e-4),
    "odd-C-G=C-no-affine": ((2, 3, 5, 5), 3, (False, False), 1e-5),
    "(N, C, L)": ((4, 6, 9), 2, (True, True), 1e-5),
    "(N, C)-scale-only": ((5, 8), 4, (True, False), 1e-2),
}


@pytest.mark.parametrize("precision", PRECISIONS.values(), ids=list(PRECISIONS))
@pytest.mark.parametrize("case", GROUP_CASES.values(), ids=list(GROUP_CASES))
def test_group_norm_kernel(case, precision):
    x_shape, groups, affine, eps = case
    dtype, rtol, atol = precision
    rng = np.random.default_rng(21)
    x = make_x(rng, x_shape, dtype)
    gamma, beta = make_affine(rng, x_shape[1:2], affine, dtype)
    dout = rng.standard_normal(x_shape).astype(dtype)
    out, cache = group_norm_forward(x, gamma, beta, groups, eps)
    ours = (out,) + group_norm_backward(dout, cache)
    theirs = torch_grads(lambda *a: TF.group_norm(a[0], groups, a[1], a[2], eps), x,
                         (gamma, beta), dout)
    assert_matches(f"group_norm x{x_shape} G={groups}", ours, theirs, dtype, rtol, atol)


INSTANCE_CASES = {  # (x shape, (gamma?, beta?), running statistics?)
    "plain-H!=W": ((3, 4, 5, 3), (False, False), False),
    "affine-odd-C-batch1": ((1, 5, 4, 7), (True, True), False),
    "(N, C, L)": ((2, 3, 8), (True, True), False),
    "running-affine": ((3, 4, 5, 3), (True, True), True),
    "running-plain-batch1": ((1, 3, 2, 5), (False, False), True),
}


@pytest.mark.parametrize("precision", PRECISIONS.values(), ids=list(PRECISIONS))
@pytest.mark.parametrize("case", INSTANCE_CASES.values(), ids=list(INSTANCE_CASES))
def test_instance_norm_kernel(case, precision):
    """torch.instance_norm with use_input_stats=False is the running-statistics branch."""
    x_shape, affine, running = case
    dtype, rtol, atol = precision
    rng = np.random.default_rng(22)
    x = make_x(rng, x_shape, dtype)
    gamma, beta = make_affine(rng, x_shape[1:2], affine, dtype)
    dout = rng.standard_normal(x_shape).astype(dtype)
    stats = {}
    if running:
        stats = dict(running_mean=rng.standard_normal(x_shape[1]).astype(dtype),
                     running_var=rng.uniform(0.3, 3.0, x_shape[1]).astype(dtype))
    out, cache = instance_norm_forward(x, gamma, beta, 1e-5, **stats)
    ours = (out,) + instance_norm_backward(dout, cache)
    torch_stats = {name: torch.from_numpy(array.copy()) for name, array in stats.items()}
    theirs = torch_grads(lambda *a: TF.instance_norm(a[0], weight=a[1], bias=a[2],
                                                     use_input_stats=not running, eps=1e-5,
                                                     **torch_stats), x, (gamma, beta), dout)
    assert_matches(f"instance_norm x{x_shape} running={running}", ours, theirs, dtype, rtol, atol)


@pytest.mark.parametrize("momentum", [0.1, 0.6])
@pytest.mark.parametrize("precision", PRECISIONS.values(), ids=list(PRECISIONS))
def test_instance_norm_running_stats(precision, momentum):
    """torch.instance_norm(use_input_stats=True) updates the given running stats in place."""
    dtype, rtol, atol = precision
    rng = np.random.default_rng(23)
    x = make_x(rng, (3, 4, 5, 3), dtype)
    running_mean = rng.standard_normal(4).astype(dtype)
    running_var = rng.uniform(0.3, 3.0, 4).astype(dtype)
    _, cache = instance_norm_forward(x, None, None)
    ours = instance_norm_running_stats(cache, running_mean, running_var, momentum)
    mean_t, var_t = torch.from_numpy(running_mean.copy()), torch.from_numpy(running_var.copy())
    TF.instance_norm(torch.from_numpy(x), mean_t, var_t, momentum=momentum)
    for name, mine, reference in zip(("running_mean", "running_var"), ours, (mean_t, var_t)):
        assert mine.dtype == dtype, name
        np.testing.assert_allclose(mine, reference.numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"{name} (lamina vs torch)")


# -- layers -------------------------------------------------------------------------------------
LAYER_PAIRS = {  # (lamina factory, torch factory, x shape)
    "LayerNorm-1": (lambda: L.LayerNorm(7), lambda: nn.LayerNorm(7), (5, 7)),
    "LayerNorm-2-no-bias": (lambda: L.LayerNorm((5, 3), bias=False),
                            lambda: nn.LayerNorm((5, 3), bias=False), (3, 4, 5, 3)),
    "LayerNorm-3-batch1": (lambda: L.LayerNorm((3, 5, 2), eps=1e-3),
                           lambda: nn.LayerNorm((3, 5, 2), eps=1e-3), (1, 3, 5, 2)),
    "LayerNorm-no-affine": (lambda: L.LayerNorm(4, elementwise_affine=False),
                            lambda: nn.LayerNorm(4, elementwise_affine=False), (3, 2, 4)),
    "GroupNorm-H!=W": (lambda: L.GroupNorm(3, 6), lambda: nn.GroupNorm(3, 6), (2, 6, 5, 3)),
    "GroupNorm-odd-C-G1": (lambda: L.GroupNorm(1, 5), lambda: nn.GroupNorm(1, 5), (3, 5, 4, 7)),
    "GroupNorm-G=C-batch1": (lambda: L.GroupNorm(7, 7), lambda: nn.GroupNorm(7, 7),
                             (1, 7, 3, 2)),
    "GroupNorm-no-affine-(N, C, L)": (lambda: L.GroupNorm(2, 4, affine=False),
                                      lambda: nn.GroupNorm(2, 4, affine=False), (3, 4, 9)),
    "InstanceNorm2D": (lambda: L.InstanceNorm2D(4), lambda: nn.InstanceNorm2d(4), (3, 4, 5, 3)),
    "InstanceNorm2D-affine-odd-C-batch1": (lambda: L.InstanceNorm2D(5, affine=True),
                                           lambda: nn.InstanceNorm2d(5, affine=True),
                                           (1, 5, 4, 7)),
}


@pytest.mark.parametrize("precision", PRECISIONS.values(), ids=list(PRECISIONS))
@pytest.mark.parametrize("case", LAYER_PAIRS.values(), ids=list(LAYER_PAIRS))
def test_layer(case, precision):
    """Forward, dx and every parameter gradient, accumulated over two steps."""
    ours, theirs, x_shape = case
    dtype, rtol, atol = precision
    rng = np.random.default_rng(24)
    layer, module = setup_pair(ours(), theirs(), dtype, rng)
    for step in range(2):
        compare(layer, module, make_x(rng, x_shape, dtype), f"{layer!r} x{x_shape} step {step}",
                rng, dtype=dtype, rtol=rtol, atol=atol)


@pytest.mark.parametrize("precision", PRECISIONS.values(), ids=list(PRECISIONS))
@pytest.mark.parametrize("affine", [False, True])
def test_instance_norm_tracking_running_stats(affine, precision):
    """Two training steps update the running statistics as torch's; eval then uses them."""
    dtype, rtol, atol = precision
    rng = np.random.default_rng(25)
    layer, module = setup_pair(
        L.InstanceNorm2D(3, momentum=0.3, affine=affine, track_running_stats=True),
        nn.InstanceNorm2d(3, momentum=0.3, affine=affine, track_running_stats=True), dtype, rng)
    label = f"{layer!r}"
    for step in range(2):
        compare(layer, module, make_x(rng, (4, 3, 5, 6), dtype), f"{label} train step {step}",
                rng, dtype=dtype, rtol=rtol, atol=atol)
        for name in ("running_mean", "running_var"):
            assert getattr(layer, name).dtype == dtype, name
            np.testing.assert_allclose(getattr(layer, name), getattr(module, name).numpy(),
                                       rtol=rtol, atol=atol, err_msg=f"{label}: {name}")
    layer.eval(), module.eval()
    compare(layer, module, make_x(rng, (2, 3, 4, 3), dtype), f"{label} eval", rng, dtype=dtype,
            rtol=rtol, atol=atol)
    np.testing.assert_allclose(layer.running_mean, module.running_mean.numpy(), rtol=rtol,
                               atol=atol, err_msg=f"{label}: eval must not update running_mean")
