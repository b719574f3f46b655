"""Batch normalisation kernels: gradients, modes, running statistics, dtype, purity, errors;
the seed-004 bn_param adapter against the PyTorch-convention batch_norm_forward."""

import numpy as np
import pytest

import lamina
from lamina.errors import ConfigError, DTypeError, ShapeError
from lamina.functional.norm import (
    batch_norm_backward,
    batch_norm_forward,
    batchnorm_backward,
    batchnorm_forward,
    spatial_batchnorm_backward,
    spatial_batchnorm_forward,
)
from lamina.functional import norm, parallel
from lamina.gradcheck import check_kernel

FLAT_SHAPES = [(4, 3), (7, 5), (2, 1), (3, 8)]
SPATIAL_SHAPES = [(3, 2, 4, 5), (2, 3, 3, 1), (1, 2, 3, 3), (4, 1, 2, 7)]
KERNELS = {
    2: (batchnorm_forward, batchnorm_backward),
    4: (spatial_batchnorm_forward, spatial_batchnorm_backward),
}


def make_inputs(rng, shape, dtype=np.float64):
    features = shape[1]
    x = rng.standard_normal(shape) * 2.0 + 0.5
    gamma, beta = rng.standard_normal(features), rng.standard_normal(features)
    return x.astype(dtype), gamma.astype(dtype), beta.astype(dtype)


def per_feature(array, ndim):
    return array.reshape((1, -1) + (1,) * (ndim - 2))


@pytest.mark.parametrize("shape", FLAT_SHAPES + SPATIAL_SHAPES)
def test_train_gradcheck(shape, rng):
    forward, backward = KERNELS[len(shape)]
    x, gamma, beta = make_inputs(rng, shape)
    bn_param = {"mode": "train", "eps": 1e-3}
    assert check_kernel(forward, backward, [x, gamma, beta], {"bn_param": bn_param}, rtol=1e-5)


@pytest.mark.parametrize("shape", FLAT_SHAPES + SPATIAL_SHAPES)
def test_test_mode_gradcheck(shape, rng):
    forward, backward = KERNELS[len(shape)]
    x, gamma, beta = make_inputs(rng, shape)
    features = shape[1]
    bn_param = {"mode": "test", "running_mean": rng.standard_normal(features),
                "running_var": rng.random(features) + 0.5}
    assert check_kernel(forward, backward, [x, gamma, beta], {"bn_param": bn_param})


@pytest.mark.parametrize("shape", FLAT_SHAPES[:2] + SPATIAL_SHAPES[:2])
def test_train_output_is_normalised_per_feature(shape, rng):
    forward, _ = KERNELS[len(shape)]
    x, _, _ = make_inputs(rng, shape)
    features = shape[1]
    out, _ = forward(x, np.ones(features), np.zeros(features), {"mode": "train", "eps": 0.0})
    axes = (0,) + tuple(range(2, len(shape)))
    np.testing.assert_allclose(out.mean(axis=axes), 0.0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=axes), 1.0, rtol=1e-10)


@pytest.mark.parametrize("unbiased", [False, True])
@pytest.mark.parametrize("shape", [(6, 3), (3, 2, 4, 5)])
def test_running_stats_update(shape, unbiased, rng):
    forward, _ = KERNELS[len(shape)]
    x, gamma, beta = make_inputs(rng, shape)
    features, axes = shape[1], (0,) + tuple(range(2, len(shape)))
    running_mean, running_var = rng.standard_normal(features), rng.random(features) + 0.5
    given_mean, given_var = running_mean.copy(), running_var.copy()
    bn_param = {"mode": "train", "momentum": 0.7, "running_mean": running_mean,
                "running_var": running_var}
    if unbiased:
        bn_param["unbiased"] = True
    forward(x, gamma, beta, bn_param)
    count = x.size // features
    batch_var = x.var(axis=axes) * (count / (count - 1) if unbiased else 1.0)
    np.testing.assert_allclose(bn_param["running_mean"],
                               0.7 * given_mean + 0.3 * x.mean(axis=axes), rtol=1e-12)
    np.testing.assert_allclose(bn_param["running_var"], 0.7 * given_var + 0.3 * batch_var,
                               rtol=1e-12)
    # The caller's arrays are replaced in the dict, never written to.
    np.testing.assert_array_equal(running_mean, given_mean)
    np.testing.assert_array_equal(running_var, given_var)
    assert bn_param["running_mean"] is not running_mean


def test_defaults_seed_004(rng):
    x, gamma, beta = make_inputs(rng, (5, 4))
    bn_param = {"mode": "train"}
    out, _ = batchnorm_forward(x, gamma, beta, bn_param)
    mean, var = x.mean(axis=0), x.var(axis=0)
    np.testing.assert_allclose(out, gamma * (x - mean) / np.sqrt(var + 1e-5) + beta, rtol=1e-12)
    np.testing.assert_allclose(bn_param["running_mean"], 0.1 * mean, rtol=1e-12)
    np.testing.assert_allclose(bn_param["running_var"], 0.1 * var, rtol=1e-12)


@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 4, 4)])
def test_test_mode_uses_running_stats(shape, rng):
    forward, backward = KERNELS[len(shape)]
    x, gamma, beta = make_inputs(rng, shape)
    features, ndim = shape[1], len(shape)
    mean, var = rng.standard_normal(features), rng.random(features) + 0.5
    bn_param = {"mode": "test", "eps": 1e-3, "running_mean": mean, "running_var": var}
    out, cache = forward(x, gamma, beta, bn_param)
    scale = per_feature(gamma / np.sqrt(var + 1e-3), ndim)
    np.testing.assert_allclose(out, scale * (x - per_feature(mean, ndim)) + per_feature(beta, ndim),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(bn_param["running_mean"], mean)
    dout = rng.standard_normal(shape)
    dx, _, dbeta = backward(dout, cache)
    np.testing.assert_allclose(dx, dout * scale, rtol=1e-12)
    np.testing.assert_allclose(dbeta, dout.sum(axis=(0,) + tuple(range(2, ndim))), rtol=1e-12)


def test_spatial_equals_flat_on_channels_last_rows(rng):
    x, gamma, beta = make_inputs(rng, (3, 4, 5, 2))
    out, cache = spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"})
    rows = x.transpose(0, 2, 3, 1).reshape(-1, 4)
    flat_out, flat_cache = batchnorm_forward(rows, gamma, beta, {"mode": "train"})
    np.testing.assert_allclose(out.transpose(0, 2, 3, 1).reshape(-1, 4), flat_out, rtol=1e-12)
    dout = rng.standard_normal(x.shape)
    grads = spatial_batchnorm_backward(dout, cache)
    flat_grads = batchnorm_backward(dout.transpose(0, 2, 3, 1).reshape(-1, 4), flat_cache)
    np.testing.assert_allclose(grads[0].transpose(0, 2, 3, 1).reshape(-1, 4), flat_grads[0],
                               rtol=1e-10, atol=1e-12)
    for grad, flat_grad in zip(grads[1:], flat_grads[1:]):
        np.testing.assert_allclose(grad, flat_grad, rtol=1e-10)


@pytest.mark.parametrize("mode", ["train", "test"])
@pytest.mark.parametrize("shape", [(6, 3), (2, 3, 4, 4)])
def test_float32_preserved(shape, mode, rng):
    forward, backward = KERNELS[len(shape)]
    x, gamma, beta = make_inputs(rng, shape, np.float32)
    # float64 running statistics come back in x's dtype.
    bn_param = {"mode": mode, "running_mean": np.zeros(3), "running_var": np.ones(3)}
    out, cache = forward(x, gamma, beta, bn_param)
    assert out.dtype == np.float32
    assert bn_param["running_mean"].dtype == np.float32
    assert bn_param["running_var"].dtype == np.float32
    for grad in backward(np.ones_like(out), cache):
        assert grad.dtype == np.float32


@pytest.mark.parametrize("mode", ["train", "test"])
def test_inputs_not_mutated(mode, rng):
    x, gamma, beta = make_inputs(rng, (2, 3, 4, 4))
    copies = [a.copy() for a in (x, gamma, beta)]
    out, cache = spatial_batchnorm_forward(x, gamma, beta, {"mode": mode})
    dout = rng.standard_normal(out.shape)
    dout_copy = dout.copy()
    spatial_batchnorm_backward(dout, cache)
    for array, copy in zip((x, gamma, beta, dout), copies + [dout_copy]):
        np.testing.assert_array_equal(array, copy)


@pytest.mark.parametrize("mode", ["foo", None, "eval"])
def test_unknown_mode_is_value_error(mode, rng):
    x, gamma, beta = make_inputs(rng, (4, 3))
    with pytest.raises(ValueError, match=repr(mode)) as info:
        batchnorm_forward(x, gamma, beta, {"mode": mode})
    assert isinstance(info.value, ConfigError) and "Received" in str(info.value)


@pytest.mark.parametrize("forward, x, gamma, param, error, fragment", [
    (batchnorm_forward, np.zeros((2, 3, 4)), np.ones(3), {}, ShapeError, "2 dimensions"),
    (spatial_batchnorm_forward, np.zeros((4, 3)), np.ones(3), {}, ShapeError, "4 dimensions"),
    (batchnorm_forward, np.zeros((4, 3)), np.ones(2), {}, ShapeError, "gamma of shape"),
    (spatial_batchnorm_forward, np.zeros((2, 3, 2, 2)), np.ones(4), {}, ShapeError, "gamma"),
    (batchnorm_forward, np.zeros((4, 3), np.int32), np.ones(3), {}, DTypeError, "floating"),
    (batchnorm_forward, np.zeros((4, 3)), np.ones(3), {"running_mean": np.zeros(4)}, ShapeError,
     "running_mean"),
    (batchnorm_forward, np.zeros((1, 3)), np.ones(3), {"unbiased": True}, ShapeError,
     "more than one value"),
])
def test_errors(forward, x, gamma, param, error, fragment):
    bn_param = {"mode": "train", **param}
    with pytest.raises(error, match=fragment) as info:
        forward(x, gamma, np.zeros_like(gamma), bn_param)
    assert forward.__name__ in str(info.value) and "Received" in str(info.value)


def test_beta_shape_error():
    with pytest.raises(ShapeError, match="beta"):
        batchnorm_forward(np.zeros((4, 3)), np.ones(3), np.zeros(5), {"mode": "train"})


@pytest.mark.parametrize("forward, shape", [(batchnorm_forward, (64, 3)),
                                            (spatial_batchnorm_forward, (8, 3, 6, 5))])
def test_float32_accuracy_with_a_large_mean(forward, shape, rng):
    """Two-pass statistics: a mean 1000x the spread must not cancel the variance in float32
    (E[x^2] - E[x]^2 would lose it all)."""
    x = 1000.0 + rng.standard_normal(shape)
    gamma, beta = rng.standard_normal(shape[1]), rng.standard_normal(shape[1])
    dout = rng.standard_normal(shape)
    backward = batchnorm_backward if forward is batchnorm_forward else spatial_batchnorm_backward
    out64, cache64 = forward(x, gamma, beta, {"mode": "train"})
    grads64 = backward(dout, cache64)
    out32, cache32 = forward(*(a.astype(np.float32) for a in (x, gamma, beta)), {"mode": "train"})
    grads32 = backward(dout.astype(np.float32), cache32)
    np.testing.assert_allclose(out32, out64, rtol=1e-3, atol=1e-3)
    for ours, reference in zip(grads32, grads64):
        np.testing.assert_allclose(ours, reference, rtol=1e-3, atol=1e-3)


# -- batch_norm_forward: PyTorch's convention (momentum = the new value's fraction) -------------
ANY_RANK_SHAPES = [(5, 3), (4, 3, 6), (3, 2, 4, 5), (2, 3, 2, 3, 2)]


def first_two(forward):
    """forward without the running statistics it returns: (out, cache), for check_kernel."""
    return lambda *arrays, **hyper: forward(*arrays, **hyper)[:2]


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", ANY_RANK_SHAPES)
def test_batch_norm_gradcheck(shape, training, rng):
    x, gamma, beta = make_inputs(rng, shape)
    running = [rng.standard_normal(shape[1]), rng.random(shape[1]) + 0.5]
    hyper = {"training": training, "eps": 1e-3}
    assert check_kernel(first_two(batch_norm_forward), batch_norm_backward,
                        [x, gamma, beta, *running], hyper, wrt=[0, 1, 2], rtol=1e-5)


@pytest.mark.parametrize("shape", ANY_RANK_SHAPES)
def test_batch_norm_returns_the_running_statistics_as_torch(shape, rng):
    x, gamma, beta = make_inputs(rng, shape)
    features, axes = shape[1], (0,) + tuple(range(2, len(shape)))
    running_mean, running_var = rng.standard_normal(features), rng.random(features) + 0.5
    given = running_mean.copy(), running_var.copy()
    _, _, (new_mean, new_var) = batch_norm_forward(x, gamma, beta, running_mean, running_var,
                                                   True, momentum=0.3)
    count = x.size // features
    np.testing.assert_allclose(new_mean, 0.7 * given[0] + 0.3 * x.mean(axis=axes), rtol=1e-12)
    np.testing.assert_allclose(new_var, 0.7 * given[1] + 0.3 * x.var(axis=axes) * count
                               / (count - 1), rtol=1e-12)
    np.testing.assert_array_equal(running_mean, given[0])  # never written to
    np.testing.assert_array_equal(running_var, given[1])
    biased = batch_norm_forward(x, gamma, beta, running_mean, running_var, True, momentum=0.3,
                                unbiased=False)[2][1]
    np.testing.assert_allclose(biased, 0.7 * given[1] + 0.3 * x.var(axis=axes), rtol=1e-12)


def test_batch_norm_eval_returns_the_given_statistics_in_x_dtype(rng):
    x, gamma, beta = make_inputs(rng, (4, 3, 5), np.float32)
    running_mean, running_var = rng.standard_normal(3), rng.random(3) + 0.5
    out, _, (mean, var) = batch_norm_forward(x, gamma, beta, running_mean, running_var, False)
    assert out.dtype == mean.dtype == var.dtype == np.float32
    np.testing.assert_array_equal(mean, running_mean.astype(np.float32))
    np.testing.assert_array_equal(var, running_var.astype(np.float32))


@pytest.mark.parametrize("kept", [0.9, 0.7, 0.5, 1.0])
@pytest.mark.parametrize("mode", ["train", "test"])
@pytest.mark.parametrize("unbiased", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(6, 3), (3, 3, 4, 5)])
def test_seed_adapter_is_the_kernel_to_the_last_bit(shape, dtype, unbiased, mode, kept, rng):
    """bn_param's momentum k is the kernel's 1 - k; its results and the running statistics
    written back into bn_param equal batch_norm_forward's exactly (1 - (1 - k) == k here)."""
    forward, backward = KERNELS[len(shape)]
    x, gamma, beta = make_inputs(rng, shape, dtype)
    running_mean, running_var = rng.standard_normal(3), rng.random(3) + 0.5
    bn_param = {"mode": mode, "momentum": kept, "eps": 1e-3, "unbiased": unbiased,
                "running_mean": running_mean, "running_var": running_var}
    out, cache = forward(x, gamma, beta, bn_param)
    kernel_out, kernel_cache, running = batch_norm_forward(
        x, gamma, beta, running_mean, running_var, mode == "train", momentum=1 - kept,
        eps=1e-3, unbiased=unbiased)
    np.testing.assert_array_equal(out, kernel_out)
    for written, returned in zip((bn_param["running_mean"], bn_param["running_var"]), running):
        assert written.dtype == returned.dtype == dtype
        np.testing.assert_array_equal(written, returned)
    dout = rng.standard_normal(shape).astype(dtype)
    for ours, kernels in zip(backward(dout, cache), batch_norm_backward(dout, kernel_cache)):
        np.testing.assert_array_equal(ours, kernels)


@pytest.mark.parametrize("hyper, error, fragment", [
    (dict(momentum=True), ConfigError, r"momentum as a finite real number in \[0, 1\]. "
                                       r"Received: momentum=True"),
    (dict(momentum=1.5), ConfigError, r"momentum as .*Received: momentum=1.5"),
    (dict(eps=-1.0), ConfigError, r"eps as a finite real number >= 0. Received: eps=-1.0"),
    (dict(training="yes"), ConfigError, r"training as a bool .*Received: training='yes'"),
    (dict(unbiased=1), ConfigError, r"unbiased as a bool .*Received: unbiased=1"),
    (dict(running_var=np.ones(4)), ShapeError, r"running_var of shape \(3,\). "
                                               r"Received: running_var.shape=\(4,\)"),
])
def test_batch_norm_errors(hyper, error, fragment):
    arguments = {"running_mean": np.zeros(3), "running_var": np.ones(3), "training": True, **hyper}
    with pytest.raises(error, match="batch_norm_forward expects " + fragment):
        batch_norm_forward(np.zeros((4, 3)), np.ones(3), np.zeros(3), **arguments)


def test_batch_norm_needs_a_feature_axis():
    with pytest.raises(ShapeError, match=r"batch_norm_forward expects x with at least 2 dimensions "
                                         r"\(N, C, \*spatial\). Received: x.shape=\(4,\)"):
        batch_norm_forward(np.zeros(4), np.ones(4), np.zeros(4), None, None, True)


def test_seed_momentum_is_checked():
    with pytest.raises(ConfigError, match=r"batchnorm_forward expects bn_param\['momentum'\] as "
                                          r"a finite real number in \[0, 1\]"):
        batchnorm_forward(np.zeros((4, 3)), np.ones(3), np.zeros(3),
                          {"mode": "train", "momentum": 1.5})


# -- speed without a digit less: threads, chunks, large means --------------------------------
@pytest.fixture
def restore_threads():
    before = parallel.get_num_threads()
    yield
    lamina.set_num_threads(before)


def every_result(x, gamma, beta, running, dout, training):
    """All that batch_norm_forward and batch_norm_backward give back, as one list."""
    out, cache, (mean, var) = batch_norm_forward(x, gamma, beta, *running, training)
    return [out, mean, var, *batch_norm_backward(dout, cache)]


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape, dtype", [
    ((96, 8, 16, 32), np.float32),  # 6 chunks of 16 images
    ((6000, 64), np.float32),  # 6 chunks, the last one short
    ((40, 12, 1000), np.float64),  # 20 chunks of 2 items
    ((2, 3, 300, 300), np.float32),  # an item larger than a chunk: one item per chunk
    ((6, 32, 16, 16), np.float32),  # below PARALLEL_BYTES: one thread (BLAS may use more)
    ((1, 5, 40, 40), np.float32),
])
def test_several_threads_equal_one_thread_bit_for_bit(shape, dtype, training, rng,
                                                      restore_threads, monkeypatch):
    monkeypatch.setattr(norm, "PARALLEL_BYTES", 2**20)  # threads for small arrays too
    x, gamma, beta = make_inputs(rng, shape, dtype)
    running = [rng.standard_normal(shape[1]), rng.random(shape[1]) + 0.5]
    dout = rng.standard_normal(shape).astype(dtype)
    at_once = len(norm._chunks(x)) >= 2 and x.nbytes >= norm.PARALLEL_BYTES
    assert at_once == (x.nbytes > 2**20)  # the chunks of the first four run at once
    results = {}
    for threads in (1, 2, 3):
        lamina.set_num_threads(threads)
        results[threads] = every_result(x, gamma, beta, running, dout, training)
    for threads in (2, 3):
        for one, several in zip(results[1], results[threads]):
            assert one.dtype == several.dtype == dtype
            np.testing.assert_array_equal(several, one)


def test_chunked_results_equal_the_textbook_formulas(rng):
    """Many chunks and the corrected two-pass statistics against NumPy's direct formulas."""
    shape = (50, 6, 40, 30)
    x, gamma, beta = make_inputs(rng, shape)
    dout = rng.standard_normal(shape)
    assert len(norm._chunks(x)) > 10
    out, mean, var, dx, dgamma, dbeta = every_result(x, gamma, beta, [None, None], dout, True)
    axes, count = (0, 2, 3), x.size // shape[1]
    xhat = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True)
                                                           + 1e-5)
    g = per_feature(gamma, 4)
    np.testing.assert_allclose(out, g * xhat + per_feature(beta, 4), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mean, 0.1 * x.mean(axis=axes), rtol=1e-12)
    np.testing.assert_allclose(var, 0.1 * x.var(axis=axes) * count / (count - 1),  # from 0
                               rtol=1e-12)
    np.testing.assert_allclose(dbeta, dout.sum(axis=axes), rtol=1e-12)
    np.testing.assert_allclose(dgamma, (dout * xhat).sum(axis=axes), rtol=1e-11)
    expected = g / (count * np.sqrt(x.var(axis=axes, keepdims=True) + 1e-5)) * (
        count * dout - dout.sum(axis=axes, keepdims=True)
        - xhat * (dout * xhat).sum(axis=axes, keepdims=True))
    np.testing.assert_allclose(dx, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape, location", [((16, 8, 16, 16), 100.0), ((64, 16, 8, 8), 100.0),
                                             ((256, 16), 1000.0), ((8, 4, 64, 64), 1000.0)])
def test_float32_with_a_large_mean_is_as_accurate_as_torch(shape, location, rng):
    """x = location + N(0, 1) in float32: every result's error (against torch in float64 on
    the same float32 inputs) is at most twice torch's own float32 error, or a few float32
    epsilons (relative to the largest entry)."""
    torch = pytest.importorskip("torch")
    x = (location + rng.standard_normal(shape)).astype(np.float32)
    axes = (0,) + tuple(range(2, len(shape)))
    xhat = (x - x.mean(axis=axes, keepdims=True)) / x.std(axis=axes, keepdims=True)
    dout = (0.7 * xhat + 0.5 * rng.standard_normal(shape)).astype(np.float32)  # as in training
    gamma = rng.standard_normal(shape[1]).astype(np.float32)
    beta = rng.standard_normal(shape[1]).astype(np.float32)
    running = [np.zeros(shape[1], np.float32), np.ones(shape[1], np.float32)]

    def torch_results(dtype):
        tx, tgamma, tbeta = (torch.tensor(a, dtype=dtype, requires_grad=True)
                             for a in (x, gamma, beta))
        mean, var = (torch.tensor(a, dtype=dtype) for a in running)
        out = torch.nn.functional.batch_norm(tx, mean, var, tgamma, tbeta, True, 0.1, 1e-5)
        out.backward(torch.tensor(dout, dtype=dtype))
        return [t.detach().numpy().astype(np.float64)
                for t in (out, mean, var, tx.grad, tgamma.grad, tbeta.grad)]

    reference, torch32 = torch_results(torch.float64), torch_results(torch.float32)
    ours = every_result(x, gamma, beta, running, dout, True)
    names = ["out", "running_mean", "running_var", "dx", "dgamma", "dbeta"]
    for name, mine, theirs, exact in zip(names, ours, torch32, reference):
        assert mine.dtype == np.float32
        largest = np.abs(exact).max()
        error, torch_error = (np.abs(a - exact).max() / largest for a in (mine, theirs))
        assert error <= max(2 * torch_error, 4 * np.finfo(np.float32).eps), (
            f"{name}: lamina's error {error:.3g}, torch's {torch_error:.3g}")


@pytest.mark.parametrize("shape", [(64, 16, 8, 8), (64, 3, 4, 16), (64, 5, 40)])
def test_centring_on_a_far_sample_mean_changes_only_rounding(shape, rng):
    """The statistics centre x on the mean of a sample of items spread over the batch (every
    8th of 64 here), or, when that lies far from the batch mean, on the mean this first pass
    found. Four items shifted by 3: where they are every 8th (sampled), the sample mean is
    about 1 standard deviation off; where they are items 1 to 4, 0.15. The same batch in
    either order gives the same results but for float32 rounding."""
    assert norm.SAMPLE_ITEMS == 8 and 64 * np.prod(shape[2:]) // norm.SAMPLE_VALUES >= 8
    x, gamma, beta = make_inputs(rng, shape, np.float32)
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    sampled, unsampled = np.array([0, 8, 16, 24]), np.array([1, 2, 3, 4])
    x[sampled] += 3
    order = np.arange(shape[0])
    order[sampled], order[unsampled] = unsampled, sampled  # x[order]: the shifted ones at 1-4
    dout = rng.standard_normal(shape).astype(np.float32)
    running = [np.zeros(shape[1]), np.ones(shape[1])]
    far = every_result(x, gamma, beta, running, dout, True)
    near = every_result(x[order], gamma, beta, running, dout[order], True)
    for name, ours, reordered in zip(["out", "mean", "var", "dx", "dgamma", "dbeta"], far, near):
        if name in ("out", "dx"):
            reordered = reordered[np.argsort(order)]
        np.testing.assert_allclose(ours, reordered, rtol=0,
                                   atol=8 * np.finfo(np.float32).eps * np.abs(ours).max(),
                                   err_msg=name)
