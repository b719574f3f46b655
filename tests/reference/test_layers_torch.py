"""Every lamina layer against its torch.nn counterpart: outputs, input and parameter gradients.

Each test builds the lamina layer, converts it with ``astype``, gives it random parameters,
copies them into the torch module (Linear's weight transposed: lamina keeps (in, out), torch
(out, in); every other layout is shared), then runs both forward on the same input and
backward on the same random upstream gradient. float64 cases hold to rtol 1e-6; one float32
case per family holds to rtol 1e-4 and checks that nothing is silently upcast.
"""

import numpy as np
import pytest
import torch
from torch import nn

from lamina import layers as L

F32 = dict(dtype=np.float32, rtol=1e-4, atol=1e-5)
TORCH_DTYPE = {np.float64: torch.float64, np.float32: torch.float32}


# -- harness ----------------------------------------------------------------------------------
def torch_layout(layer, name, array):
    """A lamina parameter (or gradient) in torch's layout: Linear's weight is transposed."""
    return array.T if isinstance(layer, L.Linear) and name == "weight" else array


def param_pairs(layer, module):
    """(name, lamina Parameter, torch Parameter), paired in order (weight/gamma, bias/beta)."""
    ours, theirs = layer.named_parameters(), list(module.parameters())
    assert len(ours) == len(theirs), (
        f"{type(layer).__name__}: {len(ours)} lamina parameters vs {len(theirs)} in torch")
    return [(name, p, tp) for (name, p), tp in zip(ours, theirs)]


def setup_pair(layer, module, dtype, rng):
    """Convert both to `dtype`, give the lamina layer random parameters and copy them to torch."""
    layer.astype(dtype)
    module.to(TORCH_DTYPE[dtype])
    for name, p, tp in param_pairs(layer, module):
        p.data = rng.standard_normal(p.shape).astype(dtype)
        # BN scales kept positive and away from 0, as in practice.
        if name == "gamma":
            p.data = (0.5 + np.abs(p.data)).astype(dtype)
        with torch.no_grad():
            tp.copy_(torch.from_numpy(np.ascontiguousarray(torch_layout(layer, name, p.data))))
    return layer, module


def first(out):
    """(output, extra) from a forward that may return (out, indices)."""
    return out if isinstance(out, tuple) else (out, None)


def compare(layer, module, x, label, rng, dtype=np.float64, rtol=1e-6, atol=1e-10, dout=None):
    """Forward x and backward a random dout through both; assert output, dx and each grad.

    Parameter gradients are compared after accumulation, so calling this twice on the same
    pair also checks that both sides add into .grad. Returns (lamina out, extra, torch out,
    torch extra, dout) for tests that check more (indices, masks).
    """
    x = np.asarray(x, dtype=dtype)
    out, extra = first(layer.forward(x.copy()))
    if dout is None:
        dout = rng.standard_normal(out.shape).astype(dtype)
    dx = layer.backward(dout.copy())

    x_torch = torch.tensor(x, requires_grad=True)
    out_torch, extra_torch = first(module(x_torch))
    out_torch.backward(torch.from_numpy(dout))

    tol = dict(rtol=rtol, atol=atol)
    assert out.shape == tuple(layer.output_shape(x.shape)), f"{label}: output_shape()"
    assert out.dtype == dtype and dx.dtype == dtype, (
        f"{label}: expected {np.dtype(dtype)} out/dx, got {out.dtype}/{dx.dtype}")
    np.testing.assert_allclose(out, out_torch.detach().numpy(), **tol,
                               err_msg=f"{label}: forward output (lamina vs torch)")
    np.testing.assert_allclose(dx, x_torch.grad.numpy(), **tol,
                               err_msg=f"{label}: input gradient dx (lamina vs torch)")
    for name, p, tp in param_pairs(layer, module):
        got = None if p.grad is None else p.grad.dtype
        assert got == dtype, f"{label}: {name}.grad is {got}, expected {np.dtype(dtype)}"
        np.testing.assert_allclose(torch_layout(layer, name, p.grad), tp.grad.numpy(), **tol,
                                   err_msg=f"{label}: {name}.grad (lamina vs torch)")
    extra_torch = None if extra_torch is None else extra_torch.numpy()
    return out, extra, out_torch.detach().numpy(), extra_torch, dout


def check(layer, module, x_shape, label, seed=0, dtype=np.float64, rtol=1e-6, atol=1e-10):
    """One forward/backward comparison on a standard-normal input of x_shape."""
    rng = np.random.default_rng(seed)
    setup_pair(layer, module, dtype, rng)
    x = rng.standard_normal(x_shape)
    return compare(layer, module, x, label, rng, dtype, rtol, atol)


# -- Linear -----------------------------------------------------------------------------------
LINEAR_CASES = {  # (in, out, bias, x shape)
    "bias": (7, 5, True, (3, 7)),
    "no-bias": (7, 5, False, (3, 7)),
    "batch1": (4, 9, True, (1, 4)),
    "wide-out": (3, 17, True, (5, 3)),
}


@pytest.mark.parametrize("case", LINEAR_CASES.values(), ids=list(LINEAR_CASES))
def test_linear(case):
    fan_in, fan_out, bias, x_shape = case
    check(L.Linear(fan_in, fan_out, bias=bias), nn.Linear(fan_in, fan_out, bias=bias), x_shape,
          f"Linear({fan_in}, {fan_out}, bias={bias}) x{x_shape}")


@pytest.mark.parametrize("bias", [True, False])
def test_linear_flattens_trailing_axes(bias):
    """x (N, d1, d2) is read as (N, d1*d2): the same as torch Flatten then Linear."""
    check(L.Linear(3 * 4, 5, bias=bias), nn.Sequential(nn.Flatten(), nn.Linear(12, 5, bias=bias)),
          (5, 3, 4), f"Linear(12, 5, bias={bias}) on (5, 3, 4)")


@pytest.mark.parametrize("activation, torch_activation", [
    (None, nn.Identity), ("tanh", nn.Tanh), ("leaky_relu", lambda: nn.LeakyReLU(0.2)),
    ("softmax", lambda: nn.Softmax(dim=-1))])
def test_dense_is_flatten_linear_then_its_activation(activation, torch_activation):
    """Keras' Dense(units, activation): its input size inferred, its weight kept as Linear's."""
    layer = L.Dense(5, activation=activation)
    layer.build((None, 3, 4))
    check(layer, nn.Sequential(nn.Flatten(), nn.Linear(12, 5), torch_activation()), (5, 3, 4),
          f"Dense(5, activation={activation!r}) on (5, 3, 4)")


# -- Conv2D -----------------------------------------------------------------------------------
CONV_CASES = {  # (x shape, out channels, kernel, hyper)
    "plain-3x3": ((2, 3, 8, 8), 4, 3, {}),
    "batch1-no-bias-pad1": ((1, 3, 7, 9), 5, 3, dict(padding=1, bias=False)),
    "odd-batch-kernel-3x2-stride2": ((3, 2, 9, 7), 4, (3, 2), dict(stride=2, padding=1)),
    "stride3-pad-pair": ((5, 3, 11, 10), 2, 3, dict(stride=3, padding=(2, 1))),
    "stride-pair-kernel-2x3": ((2, 4, 10, 9), 3, (2, 3), dict(stride=(3, 2))),
    "dilation2": ((2, 2, 9, 9), 3, 3, dict(dilation=2, padding=2)),
    "dilation-pair-stride2": ((3, 3, 12, 10), 4, (3, 2), dict(stride=2, dilation=(2, 3))),
    "groups2": ((2, 4, 7, 8), 6, 3, dict(padding=1, groups=2)),
    "groups3-no-bias": ((1, 6, 6, 7), 9, (2, 3), dict(stride=(1, 2), groups=3, bias=False)),
    "depthwise": ((3, 5, 8, 7), 5, 3, dict(stride=2, padding=1, groups=5)),
    "depthwise-multiplier2": ((3, 3, 7, 7), 6, (3, 2), dict(dilation=2, groups=3)),
    "1x1": ((4, 6, 5, 3), 2, 1, {}),
    "all-non-square": ((3, 4, 13, 11), 6, (3, 2),
                       dict(stride=(2, 3), padding=(1, 2), dilation=(2, 1), groups=2)),
}


@pytest.mark.parametrize("case", CONV_CASES.values(), ids=list(CONV_CASES))
def test_conv2d(case):
    x_shape, out_channels, kernel, hyper = case
    check(L.Conv2D(x_shape[1], out_channels, kernel, **hyper),
          nn.Conv2d(x_shape[1], out_channels, kernel, **hyper), x_shape,
          f"Conv2D({x_shape[1]}, {out_channels}, {kernel}, {hyper}) x{x_shape}")


# -- ConvTranspose2D --------------------------------------------------------------------------
TRANSPOSE_CASES = {  # (x shape, out channels, kernel, hyper)
    "plain-3x3": ((2, 3, 5, 5), 4, 3, {}),
    "batch1-no-bias-pad1": ((1, 3, 4, 6), 2, 3, dict(padding=1, bias=False)),
    "odd-batch-stride2-outpad1": ((3, 2, 4, 5), 3, (3, 2),
                                  dict(stride=2, padding=1, output_padding=1)),
    "stride3-outpad2": ((5, 3, 3, 4), 2, 3, dict(stride=3, output_padding=2)),
    "stride-pair-outpad-pair": ((2, 2, 4, 3), 3, (2, 3),
                                dict(stride=(3, 2), output_padding=(2, 1))),
    "dilation2-pad2": ((2, 2, 5, 5), 3, 3, dict(dilation=2, padding=2)),
    "dilation2-stride2-outpad1": ((2, 3, 4, 4), 2, 3, dict(stride=2, dilation=2, output_padding=1)),
    "groups2": ((2, 4, 4, 5), 6, 3, dict(padding=1, groups=2)),
    "groups3-no-bias": ((1, 6, 3, 4), 6, (2, 3), dict(stride=(1, 2), groups=3, bias=False)),
    "depthwise": ((3, 5, 4, 5), 5, 3, dict(stride=2, padding=1, groups=5)),
    "all-non-square": ((3, 4, 5, 4), 6, (3, 2), dict(stride=(2, 3), padding=(1, 2),
                                                     output_padding=(1, 2), dilation=(2, 1),
                                                     groups=2)),
}


@pytest.mark.parametrize("case", TRANSPOSE_CASES.values(), ids=list(TRANSPOSE_CASES))
def test_conv_transpose2d(case):
    x_shape, out_channels, kernel, hyper = case
    check(L.Deconv2D(x_shape[1], out_channels, kernel, **hyper),
          nn.ConvTranspose2d(x_shape[1], out_channels, kernel, **hyper), x_shape,
          f"ConvTranspose2D({x_shape[1]}, {out_channels}, {kernel}, {hyper}) x{x_shape}", seed=1)


# -- pooling ----------------------------------------------------------------------------------
POOL_CASES = {  # (x shape, kernel, stride, padding)
    "2x2-default-stride": ((2, 3, 8, 8), 2, None, 0),
    "odd-size-truncates": ((3, 2, 9, 7), 2, None, 0),
    "overlap-3x3-stride2": ((2, 3, 9, 9), 3, 2, 0),
    "overlap-stride1": ((1, 2, 6, 7), 3, 1, 0),
    "non-square-kernel-stride": ((3, 2, 10, 9), (3, 2), (2, 1), 0),
    "stride3": ((2, 2, 11, 10), 3, 3, 0),
    "padding1-overlap": ((1, 3, 7, 8), 3, 2, 1),
    "padding-pair": ((3, 2, 7, 6), (2, 4), (2, 3), (1, 2)),
}


def pool_label(kind, case):
    x_shape, kernel, stride, padding = case
    return f"{kind}(kernel={kernel}, stride={stride}, padding={padding}) x{x_shape}"


@pytest.mark.parametrize("case", POOL_CASES.values(), ids=list(POOL_CASES))
def test_max_pool2d(case):
    x_shape, kernel, stride, padding = case
    _, indices, _, torch_indices, _ = check(
        L.MaxPool2D(kernel, stride, padding, return_index=True),
        nn.MaxPool2d(kernel, stride, padding, return_indices=True),
        x_shape, pool_label("MaxPool2D", case))
    np.testing.assert_array_equal(indices, torch_indices,
                                  err_msg=f"{pool_label('MaxPool2D', case)}: indices")


def test_max_pool2d_ties_pick_the_first_as_torch():
    """Small integers make ties common; index and gradient routing must still agree."""
    rng = np.random.default_rng(3)
    x = rng.integers(0, 3, (2, 2, 7, 8)).astype(np.float64)
    layer = L.MaxPool2D(3, 2, 1, return_index=True)
    module = nn.MaxPool2d(3, 2, 1, return_indices=True)
    _, indices, _, torch_indices, _ = compare(layer, module, x, "MaxPool2D ties", rng)
    np.testing.assert_array_equal(indices, torch_indices, err_msg="MaxPool2D ties: indices")


def test_max_pool2d_without_return_index_returns_the_array():
    rng = np.random.default_rng(4)
    out, extra, _, _, _ = compare(L.MaxPool2D(2), nn.MaxPool2d(2),
                                  rng.standard_normal((3, 1, 5, 5)), "MaxPool2D(2) plain", rng)
    assert isinstance(out, np.ndarray) and extra is None


@pytest.mark.parametrize("case", POOL_CASES.values(), ids=list(POOL_CASES))
def test_avg_pool2d_padding_counts(case):
    x_shape, kernel, stride, padding = case
    check(L.MeanPool2D(kernel, stride, padding),
          nn.AvgPool2d(kernel, stride, padding, count_include_pad=True),
          x_shape, pool_label("AvgPool2D", case))


# -- batch normalisation -----------------------------------------------------------------------
BN_CASES = {  # (lamina class, torch class, x shape)
    "1d": (L.BatchNorm1D, nn.BatchNorm1d, (6, 5)),
    "1d-odd-batch": (L.BatchNorm1D, nn.BatchNorm1d, (3, 7)),
    "1d-batch2": (L.BatchNorm1D, nn.BatchNorm1d, (2, 4)),
    "1d-channels-length": (L.BatchNorm1D, nn.BatchNorm1d, (3, 4, 5)),
    "2d": (L.BatchNorm2D, nn.BatchNorm2d, (4, 3, 5, 6)),
    "2d-batch1": (L.BatchNorm2D, nn.BatchNorm2d, (1, 4, 3, 5)),
    "2d-odd": (L.BatchNorm2D, nn.BatchNorm2d, (3, 2, 7, 3)),
}


@pytest.mark.parametrize("case", BN_CASES.values(), ids=list(BN_CASES))
def test_batchnorm_train(case):
    """Batch statistics, all gradients (accumulated over two steps) and the running stats."""
    ours, theirs, x_shape = case
    rng = np.random.default_rng(5)
    layer, module = setup_pair(ours(x_shape[1]), theirs(x_shape[1]), np.float64, rng)
    label = f"{ours.__name__} train x{x_shape}"
    for step in range(2):
        channel_offset = rng.standard_normal(x_shape[1:2] + (1,) * (len(x_shape) - 2))
        x = 3.0 * rng.standard_normal(x_shape) + channel_offset
        compare(layer, module, x, f"{label} step {step}", rng)
        for name in ("running_mean", "running_var"):
            np.testing.assert_allclose(getattr(layer, name), getattr(module, name).numpy(),
                                       rtol=1e-6, atol=1e-10,
                                       err_msg=f"{label}: {name} after {step + 1} forwards")


@pytest.mark.parametrize("case", BN_CASES.values(), ids=list(BN_CASES))
def test_batchnorm_eval_uses_running_stats(case):
    ours, theirs, x_shape = case
    rng = np.random.default_rng(6)
    layer, module = setup_pair(ours(x_shape[1]), theirs(x_shape[1]), np.float64, rng)
    layer.running_mean = rng.standard_normal(x_shape[1])
    layer.running_var = 0.2 + rng.random(x_shape[1]) * 3
    module.running_mean.copy_(torch.from_numpy(layer.running_mean))
    module.running_var.copy_(torch.from_numpy(layer.running_var))
    layer.eval(), module.eval()
    compare(layer, module, rng.standard_normal(x_shape), f"{ours.__name__} eval x{x_shape}", rng)
    np.testing.assert_array_equal(layer.running_mean, module.running_mean.numpy(),
                                  err_msg="eval must not update running_mean")


# -- dropout ----------------------------------------------------------------------------------
@pytest.mark.parametrize("p", [0.0, 0.3, 1.0])
def test_dropout_eval_is_identity(p):
    layer, module = L.Dropout(p).eval(), nn.Dropout(p).eval()
    check(layer, module, (3, 4, 5), f"Dropout({p}) eval")


@pytest.mark.parametrize("p", [0.0, 1.0])
def test_dropout_train_deterministic_ends(p):
    """p=0 keeps everything and p=1 drops everything: no randomness, so torch must agree."""
    check(L.Dropout(p), nn.Dropout(p), (3, 4, 5), f"Dropout({p}) train")


@pytest.mark.parametrize("p", [0.25, 0.5])
def test_dropout_train_mask_and_scale(p):
    """torch's RNG can't be matched, so check the contract: zeros where dropped, survivors
    scaled by 1/(1-p), and backward through the very same mask."""
    rng = np.random.default_rng(7)
    x = rng.uniform(0.5, 2.0, (20, 50, 20)) * rng.choice([-1.0, 1.0], (20, 50, 20))  # no zeros
    layer = L.Dropout(p)
    out = layer.forward(x)
    dout = rng.standard_normal(x.shape)
    dx = layer.backward(dout)
    kept = out != 0
    label = f"Dropout({p}) train"
    np.testing.assert_allclose(out[kept], x[kept] / (1 - p), rtol=1e-12,
                               err_msg=f"{label}: survivors scaled by 1/(1-p)")
    np.testing.assert_allclose(dx, dout * kept / (1 - p), rtol=1e-12,
                               err_msg=f"{label}: backward uses the forward mask")
    assert abs(1 - kept.mean() - p) < 0.02, f"{label}: dropped fraction {1 - kept.mean():.4f}"


# -- reshape and activations ---------------------------------------------------------------------
@pytest.mark.parametrize("x_shape", [(2, 3, 4, 5), (1, 7, 3), (5, 6)], ids=str)
def test_flatten(x_shape):
    check(L.Flatten(), nn.Flatten(), x_shape, f"Flatten x{x_shape}")


ACTIVATIONS = {
    "relu": (L.ReLU, nn.ReLU),
    "sigmoid": (L.Sigmoid, nn.Sigmoid),
    "tanh": (L.Tanh, nn.Tanh),
}


@pytest.mark.parametrize("pair", ACTIVATIONS.values(), ids=list(ACTIVATIONS))
@pytest.mark.parametrize("x_shape", [(3, 7), (1, 2, 5, 3)], ids=str)
def test_elementwise_activation(pair, x_shape):
    """Inputs span small and saturating magnitudes (|x| up to ~40)."""
    ours, theirs = pair
    rng = np.random.default_rng(8)
    x = rng.standard_normal(x_shape) * np.where(rng.random(x_shape) < 0.2, 20.0, 2.0)
    compare(ours(), theirs(), x, f"{ours.__name__} x{x_shape}", rng)


def test_relu_gradient_is_zero_at_exact_zero():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((4, 3, 5))
    x[rng.random(x.shape) < 0.3] = 0.0
    dout = rng.standard_normal(x.shape) + 1.0
    _, _, _, _, dout = compare(L.ReLU(), nn.ReLU(), x, "ReLU with exact zeros", rng, dout=dout)
    layer = L.ReLU()
    layer.forward(x)
    assert np.all(layer.backward(dout)[x == 0] == 0), "ReLU: gradient at x == 0 must be 0"


SOFTMAX_CASES = {  # (axis, x shape, logit scale)
    "2d-axis1": (1, (5, 7), 3.0),
    "4d-axis1": (1, (2, 3, 4, 5), 3.0),
    "4d-axis-1": (-1, (3, 2, 3, 6), 3.0),
    "large-logits": (1, (4, 9), 400.0),
}


@pytest.mark.parametrize("case", SOFTMAX_CASES.values(), ids=list(SOFTMAX_CASES))
def test_softmax(case):
    axis, x_shape, scale = case
    rng = np.random.default_rng(10)
    compare(L.Softmax(axis=axis), nn.Softmax(dim=axis), scale * rng.standard_normal(x_shape),
            f"Softmax(axis={axis}) x{x_shape}", rng)


# -- float32: one case per family -----------------------------------------------------------------
FLOAT32_CASES = {  # (lamina factory, torch factory, x shape)
    "linear": (lambda: L.Linear(12, 5), lambda: nn.Sequential(nn.Flatten(), nn.Linear(12, 5)),
               (3, 3, 4)),
    "conv2d": (lambda: L.Conv2D(4, 6, (3, 2), **CONV_CASES["all-non-square"][3]),
               lambda: nn.Conv2d(4, 6, (3, 2), **CONV_CASES["all-non-square"][3]),
               (3, 4, 13, 11)),
    "conv_transpose2d": (
        lambda: L.ConvTranspose2D(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2),
        lambda: nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2),
        (3, 4, 5, 4)),
    "max_pool2d": (lambda: L.MaxPool2D(3, 2, 1), lambda: nn.MaxPool2d(3, 2, 1), (3, 2, 7, 8)),
    "avg_pool2d": (lambda: L.AvgPool2D(3, 2, 1), lambda: nn.AvgPool2d(3, 2, 1), (3, 2, 7, 8)),
    "batchnorm1d": (lambda: L.BatchNorm1D(5), lambda: nn.BatchNorm1d(5), (7, 5)),
    "batchnorm2d": (lambda: L.BatchNorm2D(3), lambda: nn.BatchNorm2d(3), (3, 3, 4, 5)),
    "dropout-eval": (lambda: L.Dropout(0.4).eval(), lambda: nn.Dropout(0.4).eval(), (4, 6)),
    "flatten": (L.Flatten, nn.Flatten, (2, 3, 4, 5)),
    "relu": (L.ReLU, nn.ReLU, (3, 4, 5)),
    "sigmoid": (L.Sigmoid, nn.Sigmoid, (3, 4, 5)),
    "tanh": (L.Tanh, nn.Tanh, (3, 4, 5)),
    "softmax": (lambda: L.Softmax(axis=-1), lambda: nn.Softmax(dim=-1), (2, 3, 4, 5)),
}


@pytest.mark.parametrize("case", FLOAT32_CASES.values(), ids=list(FLOAT32_CASES))
def test_float32_stays_float32(case):
    ours, theirs, x_shape = case
    layer = ours()
    check(layer, theirs(), x_shape, f"{type(layer).__name__} float32 x{x_shape}", seed=11, **F32)
    for name, buffer in layer.buffers().items():
        assert buffer.dtype == np.float32, f"{type(layer).__name__}: {name} is {buffer.dtype}"


def test_dropout_train_float32_stays_float32():
    layer = L.Dropout(0.5)
    x = np.random.default_rng(12).uniform(1, 2, (8, 9)).astype(np.float32)
    out = layer.forward(x)
    dx = layer.backward(np.ones_like(out))
    assert out.dtype == np.float32 and dx.dtype == np.float32, (out.dtype, dx.dtype)
    np.testing.assert_allclose(out[out != 0], 2 * x[out != 0], rtol=1e-6,
                               err_msg="Dropout(0.5) float32: survivors doubled")
