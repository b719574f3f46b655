import numpy as np
import pytest
import torch

from lamina import Parameter, optim
from lamina.errors import ConfigError
from lamina.optim.clipping import clip_arrays, global_norm


def params_with_grads(rng, shapes=((3, 4), (5,), (2, 1, 3)), scale=3.0):
    params = []
    for shape in shapes:
        p = Parameter(rng.standard_normal(shape))
        p.grad = scale * rng.standard_normal(shape)
        params.append(p)
    return params


def torch_copies(params):
    copies = []
    for p in params:
        t = torch.nn.Parameter(torch.from_numpy(p.data.copy()))
        t.grad = torch.from_numpy(p.grad.copy())
        copies.append(t)
    return copies


@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_equals_torch(max_norm):
    params = params_with_grads(np.random.default_rng(0))
    theirs = torch_copies(params)
    total = optim.clip_grad_norm(params, max_norm)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm)
    assert total == pytest.approx(float(expected), rel=1e-12)
    for p, t in zip(params, theirs):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-12)


def test_clip_grad_value_equals_torch_and_keeps_float32():
    params = params_with_grads(np.random.default_rng(1))
    for p in params:
        p.data, p.grad = p.data.astype(np.float32), p.grad.astype(np.float32)
    theirs = torch_copies(params)
    optim.clip_grad_value(params, 0.7)
    torch.nn.utils.clip_grad_value_(theirs, 0.7)
    for p, t in zip(params, theirs):
        assert p.grad.dtype == np.float32
        np.testing.assert_array_equal(p.grad, t.grad.numpy())


def test_optimizer_clipping_uses_clipped_gradients_and_leaves_grad_alone():
    rng = np.random.default_rng(2)
    params = params_with_grads(rng)
    grads = [p.grad.copy() for p in params]
    before = [p.data.copy() for p in params]
    optim.SGD(lr=0.1, global_clipnorm=1.0).step(params)
    total = global_norm(grads)
    assert total > 1.0
    for p, g, old in zip(params, grads, before):
        np.testing.assert_array_equal(p.grad, g)  # .grad untouched
        np.testing.assert_allclose(p.data, old - 0.1 * g / total, rtol=1e-12)


def test_clip_arrays_rules():
    g = [np.array([3.0, -4.0]), np.array([0.5])]
    by_value = clip_arrays(g, clipvalue=1.0)
    np.testing.assert_array_equal(by_value[0], [1.0, -1.0])
    by_norm = clip_arrays(g, clipnorm=1.0)
    np.testing.assert_allclose(by_norm[0], [0.6, -0.8]) and np.testing.assert_array_equal(by_norm[1], [0.5])
    joint = clip_arrays(g, global_clipnorm=1.0)
    assert global_norm(joint) == pytest.approx(1.0)
    assert clip_arrays(g, global_clipnorm=100.0)[0] is g[0]  # no copy when nothing to clip


@pytest.mark.parametrize("kwargs", [{"clipnorm": 0}, {"clipvalue": -1.0}, {"global_clipnorm": np.inf}])
def test_bad_clip_settings(kwargs):
    with pytest.raises(ConfigError, match=next(iter(kwargs))):
        optim.Adam(**kwargs)
    with pytest.raises(ConfigError, match="max_norm"):
        optim.clip_grad_norm([], 0)
