"""Layer, group and instance norm kernels: gradients, statistics, dtype, purity, errors."""

import numpy as np
import pytest

from lamina.errors import ConfigError, DTypeError, ShapeError
from lamina.functional.sample_norm import (
    group_norm_backward,
    group_norm_forward,
    instance_norm_backward,
    instance_norm_forward,
    instance_norm_running_stats,
    layer_norm_backward,
    layer_norm_forward,
)
from lamina.gradcheck import check_kernel, distinct_values

AFFINE = {"scale-shift": (True, True), "scale-only": (True, False), "none": (False, False),
          "shift-only": (False, True)}


def make_inputs(rng, x_shape, param_shape, affine=(True, True), dtype=np.float64):
    """x off-centre (mean ~0.5, spread ~3), gamma away from 0, beta random; None where absent."""
    x = 3.0 * distinct_values(x_shape, rng) + 0.5
    gamma = rng.uniform(0.5, 1.5, param_shape) * rng.choice([-1.0, 1.0], param_shape)
    beta = rng.standard_normal(param_shape)
    arrays = (x, gamma if affine[0] else None, beta if affine[1] else None)
    return [None if a is None else a.astype(dtype) for a in arrays]


# -- gradients ---------------------------------------------------------------------------------
LAYER_CASES = {  # (x shape, normalized_shape)
    "1-trailing": ((4, 5), 5),
    "2-trailing": ((3, 2, 5), (2, 5)),
    "3-trailing-list": ((2, 3, 4, 3), [3, 4, 3]),
    "batch1": ((1, 7), (7,)),
    "last-of-4d": ((2, 3, 2, 5), 5),
    "size-1": ((3, 2, 1), 1),
}


@pytest.mark.parametrize("affine", AFFINE.values(), ids=list(AFFINE))
@pytest.mark.parametrize("x_shape, normalized_shape", LAYER_CASES.values(), ids=list(LAYER_CASES))
def test_layer_norm_gradcheck(x_shape, normalized_shape, affine, rng):
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    arrays = make_inputs(rng, x_shape, shape, affine)
    assert check_kernel(layer_norm_forward, layer_norm_backward, arrays,
                        {"normalized_shape": normalized_shape, "eps": 1e-3})


GROUP_CASES = {  # (x shape, num_groups)
    "groups3": ((2, 6, 3, 5), 3),
    "odd-C-G1": ((3, 5, 4), 1),
    "G=C-batch1": ((1, 5, 2, 3), 5),
    "no-spatial": ((3, 4), 2),
    "3d-spatial": ((2, 6, 3, 2, 2), 2),
}


@pytest.mark.parametrize("affine", AFFINE.values(), ids=list(AFFINE))
@pytest.mark.parametrize("x_shape, groups", GROUP_CASES.values(), ids=list(GROUP_CASES))
def test_group_norm_gradcheck(x_shape, groups, affine, rng):
    arrays = make_inputs(rng, x_shape, x_shape[1:2], affine)
    assert check_kernel(group_norm_forward, group_norm_backward, arrays,
                        {"num_groups": groups, "eps": 1e-3})


@pytest.mark.parametrize("affine", [(True, True), (False, False)], ids=["affine", "plain"])
@pytest.mark.parametrize("running", [False, True], ids=["input-stats", "running-stats"])
@pytest.mark.parametrize("x_shape", [(2, 3, 4, 5), (1, 5, 3, 2), (3, 2, 7)], ids=str)
def test_instance_norm_gradcheck(x_shape, running, affine, rng):
    arrays = make_inputs(rng, x_shape, x_shape[1:2], affine)
    hyper = {"eps": 1e-3}
    if running:
        hyper.update(running_mean=rng.standard_normal(x_shape[1]),
                     running_var=rng.uniform(0.5, 2.0, x_shape[1]))
    assert check_kernel(instance_norm_forward, instance_norm_backward, arrays, hyper)


def test_gradcheck_random_directions_on_a_larger_input(rng):
    arrays = make_inputs(rng, (4, 8, 9, 7), (8,))
    assert check_kernel(group_norm_forward, group_norm_backward, arrays, {"num_groups": 4},
                        mode="random", directions=6)


# -- values ------------------------------------------------------------------------------------
@pytest.mark.parametrize("x_shape, groups", GROUP_CASES.values(), ids=list(GROUP_CASES))
def test_group_norm_output_is_normalised_per_group(x_shape, groups, rng):
    x, _, _ = make_inputs(rng, x_shape, x_shape[1:2])
    out, _ = group_norm_forward(x, None, None, groups, eps=0.0)
    grouped = out.reshape(x_shape[0], groups, -1)
    if grouped.shape[-1] == 1:  # a single value normalises to 0
        np.testing.assert_array_equal(grouped, 0.0)
        return
    np.testing.assert_allclose(grouped.mean(axis=-1), 0.0, atol=1e-12)
    np.testing.assert_allclose(grouped.var(axis=-1), 1.0, rtol=1e-10)


def test_layer_norm_matches_the_formula_with_affine(rng):
    x, gamma, beta = make_inputs(rng, (3, 4, 2, 5), (2, 5))
    out, _ = layer_norm_forward(x, gamma, beta, (2, 5), eps=1e-2)
    mean = x.mean(axis=(2, 3), keepdims=True)
    var = x.var(axis=(2, 3), keepdims=True)
    np.testing.assert_allclose(out, gamma * (x - mean) / np.sqrt(var + 1e-2) + beta, rtol=1e-12)


def test_large_offset_keeps_precision(rng):
    """The centred variance stays exact where E[x^2] - E[x]^2 would cancel catastrophically."""
    x = 1e6 + rng.standard_normal((2, 4, 3, 3))
    out, _ = group_norm_forward(x, None, None, 2, eps=0.0)
    reference = (x - x.reshape(2, 2, -1).mean(-1).repeat(2, 1)[..., None, None])
    reference = reference / np.sqrt(x.reshape(2, 2, -1).var(-1).repeat(2, 1))[..., None, None]
    np.testing.assert_allclose(out, reference, rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("x_shape", [(2, 3, 4, 5), (3, 1, 2, 6)], ids=str)
def test_special_cases_of_group_norm_agree(x_shape, rng):
    """G = 1 is layer norm over (C, H, W) and G = C is instance norm: forward and every grad."""
    x, gamma, beta = make_inputs(rng, x_shape, x_shape[1:2])
    dout = rng.standard_normal(x_shape)
    per_channel = gamma.reshape(-1, 1, 1), beta.reshape(-1, 1, 1)
    out, cache = group_norm_forward(x, None, None, 1)
    ln_out, ln_cache = layer_norm_forward(x, None, None, x_shape[1:])
    np.testing.assert_allclose(out, ln_out, rtol=1e-12)
    np.testing.assert_allclose(group_norm_backward(dout, cache)[0],
                               layer_norm_backward(dout, ln_cache)[0], rtol=1e-10, atol=1e-12)
    out, cache = group_norm_forward(x, gamma, beta, x_shape[1])
    in_out, in_cache = instance_norm_forward(x, gamma, beta)
    np.testing.assert_allclose(out, in_out, rtol=1e-12)
    np.testing.assert_allclose(out, per_channel[0] * instance_norm_forward(x, None, None)[0]
                               + per_channel[1], rtol=1e-12, atol=1e-12)
    for grad, in_grad in zip(group_norm_backward(dout, cache), instance_norm_backward(dout, in_cache)):
        np.testing.assert_allclose(grad, in_grad, rtol=1e-12)


def test_instance_norm_with_running_statistics(rng):
    x, gamma, beta = make_inputs(rng, (3, 4, 2, 5), (4,))
    mean, var = rng.standard_normal(4), rng.uniform(0.5, 2.0, 4)
    out, cache = instance_norm_forward(x, gamma, beta, 1e-3, running_mean=mean, running_var=var)
    scale = (gamma / np.sqrt(var + 1e-3)).reshape(-1, 1, 1)
    expected = scale * (x - mean.reshape(-1, 1, 1)) + beta.reshape(-1, 1, 1)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    dout = rng.standard_normal(x.shape)
    dx, dgamma, dbeta = instance_norm_backward(dout, cache)
    np.testing.assert_allclose(dx, dout * scale, rtol=1e-12)
    xhat = (x - mean.reshape(-1, 1, 1)) / np.sqrt(var + 1e-3).reshape(-1, 1, 1)
    np.testing.assert_allclose(dgamma, (dout * xhat).sum(axis=(0, 2, 3)), rtol=1e-10)
    np.testing.assert_allclose(dbeta, dout.sum(axis=(0, 2, 3)), rtol=1e-12)


@pytest.mark.parametrize("momentum", [0.1, 0.0, 1.0, 0.35])
def test_instance_norm_running_stats_follow_torch_rule(momentum, rng):
    x, _, _ = make_inputs(rng, (3, 4, 2, 5), (4,))
    _, cache = instance_norm_forward(x, None, None)
    running_mean, running_var = rng.standard_normal(4), rng.uniform(0.5, 2.0, 4)
    given = running_mean.copy(), running_var.copy()
    new_mean, new_var = instance_norm_running_stats(cache, running_mean, running_var, momentum)
    planes = x.reshape(3, 4, -1)
    np.testing.assert_allclose(new_mean, (1 - momentum) * given[0]
                               + momentum * planes.mean(-1).mean(0), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(new_var, (1 - momentum) * given[1]
                               + momentum * planes.var(-1, ddof=1).mean(0), rtol=1e-12)
    np.testing.assert_array_equal(running_mean, given[0])
    np.testing.assert_array_equal(running_var, given[1])


def test_absent_affine_gives_none_gradients(rng):
    x, _, beta = make_inputs(rng, (2, 4, 3), (4,))
    _, cache = group_norm_forward(x, None, beta, 2)
    dx, dgamma, dbeta = group_norm_backward(np.ones(x.shape), cache)
    assert dgamma is None and dbeta.shape == (4,) and dx.shape == x.shape
    _, cache = layer_norm_forward(x, np.ones((4, 3)), None, (4, 3))
    _, dgamma, dbeta = layer_norm_backward(np.ones(x.shape), cache)
    assert dgamma.shape == (4, 3) and dbeta is None
    _, cache = instance_norm_forward(x, None, None)
    assert instance_norm_backward(np.ones(x.shape), cache)[1:] == (None, None)


# -- dtype and purity ---------------------------------------------------------------------------
KERNELS = {  # name: (forward, backward, x shape, parameter shape, hyper)
    "layer_norm": (layer_norm_forward, layer_norm_backward, (3, 4, 5), (4, 5),
                   {"normalized_shape": (4, 5)}),
    "group_norm": (group_norm_forward, group_norm_backward, (3, 6, 4, 5), (6,),
                   {"num_groups": 3}),
    "instance_norm": (instance_norm_forward, instance_norm_backward, (3, 6, 4, 5), (6,), {}),
    "instance_norm-running": (instance_norm_forward, instance_norm_backward, (3, 6, 4, 5), (6,),
                              {"running_mean": np.zeros(6), "running_var": np.ones(6)}),
}


@pytest.mark.parametrize("name", list(KERNELS))
def test_float32_stays_float32(name, rng):
    """float32 x with float64 gamma, beta, running statistics and dout: nothing upcasts."""
    forward, backward, x_shape, param_shape, hyper = KERNELS[name]
    x, gamma, beta = make_inputs(rng, x_shape, param_shape)
    out, cache = forward(x.astype(np.float32), gamma, beta, **hyper)
    assert out.dtype == np.float32
    grads = backward(rng.standard_normal(x_shape), cache)
    assert [g.dtype for g in grads] == [np.float32] * 3
    if name == "instance_norm":
        stats = instance_norm_running_stats(cache, np.zeros(6), np.ones(6))
        assert [s.dtype for s in stats] == [np.float32] * 2


@pytest.mark.parametrize("name", list(KERNELS))
def test_inputs_not_mutated(name, rng):
    forward, backward, x_shape, param_shape, hyper = KERNELS[name]
    arrays = make_inputs(rng, x_shape, param_shape)
    dout = rng.standard_normal(x_shape)
    given = [a.copy() for a in arrays + [dout]] + [v.copy() for v in hyper.values()
                                                    if isinstance(v, np.ndarray)]
    out, cache = forward(*arrays, **hyper)
    out += 1.0  # the caller owns out: writing to it must not corrupt the cache
    grads = backward(dout, cache)
    grads_again = backward(dout, forward(*arrays, **hyper)[1])
    held = arrays + [dout] + [v for v in hyper.values() if isinstance(v, np.ndarray)]
    for array, copy in zip(held, given):
        np.testing.assert_array_equal(array, copy)
    for grad, again in zip(grads, grads_again):
        np.testing.assert_array_equal(grad, again)


# -- errors ------------------------------------------------------------------------------------
X4 = np.zeros((2, 6, 3, 3))
ERROR_CASES = {
    "ln-trailing-mismatch": (lambda: layer_norm_forward(X4, None, None, (3, 4)), ShapeError,
                             r"trailing axes are normalized_shape \(3, 4\).*x.shape=\(2, 6, 3, 3\)"),
    "ln-too-few-axes": (lambda: layer_norm_forward(np.zeros(3), None, None, (2, 3)), ShapeError,
                        "normalized_shape"),
    "ln-gamma-shape": (lambda: layer_norm_forward(X4, np.ones(3), None, (3, 3)), ShapeError,
                       r"gamma of shape \(3, 3\).*gamma.shape=\(3,\)"),
    "ln-bad-shape": (lambda: layer_norm_forward(X4, None, None, (3, 0)), ConfigError,
                     r"normalized_shape=\(3, 0\)"),
    "ln-empty-shape": (lambda: layer_norm_forward(X4, None, None, ()), ConfigError,
                       "non-empty"),
    "ln-int-x": (lambda: layer_norm_forward(np.zeros((2, 3), int), None, None, 3), DTypeError,
                 "x as a floating"),
    "ln-eps": (lambda: layer_norm_forward(X4, None, None, 3, eps=-1.0), ConfigError, "eps=-1.0"),
    "gn-indivisible": (lambda: group_norm_forward(X4, None, None, 4), ConfigError,
                       r"6 channels.*divisible.*num_groups=4"),
    "gn-groups": (lambda: group_norm_forward(X4, None, None, 0), ConfigError, "num_groups=0"),
    "gn-rank": (lambda: group_norm_forward(np.zeros(6), None, None, 2), ShapeError,
                r"at least 2 dimensions.*x.shape=\(6,\)"),
    "gn-beta-shape": (lambda: group_norm_forward(X4, None, np.zeros(3), 3), ShapeError,
                      r"beta of shape \(6,\).*beta.shape=\(3,\)"),
    "gn-int-gamma": (lambda: group_norm_forward(X4, np.ones(6, int), None, 3), DTypeError,
                     "gamma as a floating"),
    "in-rank": (lambda: instance_norm_forward(np.zeros((2, 6)), None, None), ShapeError,
                r"at least 3 dimensions.*x.shape=\(2, 6\)"),
    "in-half-running": (lambda: instance_norm_forward(X4, None, None, running_mean=np.zeros(6)),
                        ConfigError, "together or neither"),
    "in-running-shape": (lambda: instance_norm_forward(X4, None, None, running_mean=np.zeros(5),
                                                       running_var=np.ones(5)), ShapeError,
                         r"running_mean of shape \(6,\)"),
    "stats-after-running": (lambda: instance_norm_running_stats(
        instance_norm_forward(X4, None, None, running_mean=np.zeros(6), running_var=np.ones(6))[1],
        np.zeros(6), np.ones(6)), ConfigError, "input's statistics"),
    "stats-one-pixel": (lambda: instance_norm_running_stats(
        instance_norm_forward(np.zeros((2, 6, 1, 1)), None, None)[1], np.zeros(6), np.ones(6)),
        ShapeError, r"more than one spatial value.*x.shape=\(2, 6, 1, 1\)"),
    "stats-momentum": (lambda: instance_norm_running_stats(
        instance_norm_forward(X4, None, None)[1], np.zeros(6), np.ones(6), momentum=1.5),
        ConfigError, "momentum=1.5"),
    "stats-shape": (lambda: instance_norm_running_stats(
        instance_norm_forward(X4, None, None)[1], np.zeros(4), np.ones(6)),
        ShapeError, r"running_mean of shape \(6,\)"),
}


@pytest.mark.parametrize("call, error, fragment", ERROR_CASES.values(), ids=list(ERROR_CASES))
def test_errors(call, error, fragment):
    with pytest.raises(error, match=fragment) as info:
        call()
    assert "_norm_" in str(info.value) and "Received" in str(info.value)


@pytest.mark.parametrize("name", list(KERNELS))
def test_backward_rejects_dout_of_another_shape(name, rng):
    forward, backward, x_shape, param_shape, hyper = KERNELS[name]
    _, cache = forward(*make_inputs(rng, x_shape, param_shape), **hyper)
    wrong = (x_shape[0] + 1,) + x_shape[1:]
    with pytest.raises(ShapeError, match=rf"{backward.__name__} expects dout.*{wrong}"):
        backward(np.zeros(wrong), cache)


def test_numpy_scalar_eps_does_not_upcast_float32(rng):
    x = rng.standard_normal((2, 4, 3)).astype(np.float32)
    assert group_norm_forward(x, None, None, 2, eps=np.float64(1e-5))[0].dtype == np.float32
    _, cache = instance_norm_forward(x, None, None)
    stats = instance_norm_running_stats(cache, np.zeros(4, np.float32), np.ones(4, np.float32),
                                        momentum=np.float64(0.1))
    assert [s.dtype for s in stats] == [np.float32] * 2
