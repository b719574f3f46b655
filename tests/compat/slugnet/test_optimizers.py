"""slugnet.optimizers: the lamina optimizers they build, and one update each."""

import math

import numpy as np
import pytest

from lamina import Parameter, optim
from lamina.compat.slugnet.optimizers import RMSProp, SGD
from lamina.errors import ConfigError


def step(optimizer, value, grad):
    param = Parameter(np.array(value, dtype=np.float64))
    param.grad = np.array(grad, dtype=np.float64)
    optimizer.step([param])
    return param.data


def test_sgd_is_param_minus_lr_times_gradient():
    native = SGD(lr=0.1).lamina_optimizer()
    assert isinstance(native, optim.SGD) and native.lr == 0.1
    np.testing.assert_allclose(step(native, [1.0, 2.0], [0.5, -1.0]), [0.95, 2.1])


@pytest.mark.parametrize("kind", [SGD, RMSProp])
def test_each_optimizer_has_its_own_lr_of_0_001_by_default(kind):
    assert kind().lr == 0.001 and kind().lamina_optimizer().lr == 0.001
    assert kind(lr=0.3).lamina_optimizer().lr == 0.3


def test_rmsprop_step_is_close_to_slugnets_rule():
    """slugnet divides by sqrt(r + epsilon), lamina by sqrt(r) + sqrt(epsilon): equal at
    r = 0, within a relative sqrt(epsilon / r) elsewhere."""
    grad, lr, rho, epsilon = np.array([0.0, 0.5, -2.0, 1e-2]), 0.01, 0.9, 1e-6
    ours = step(RMSProp(rho=rho, epsilon=epsilon, lr=lr).lamina_optimizer(), np.zeros(4), grad)
    cache = (1 - rho) * grad ** 2
    slugnet = -lr * grad / np.sqrt(cache + epsilon)
    assert ours[0] == slugnet[0] == 0
    bound = np.sqrt(epsilon / cache[1:]) * np.abs(slugnet[1:])
    assert np.all(np.abs(ours[1:] - slugnet[1:]) <= bound), (ours, slugnet)
    assert RMSProp(epsilon=1e-6).lamina_optimizer().eps == pytest.approx(math.sqrt(1e-6))


def test_clip_and_decay():
    native = SGD(lr=0.1, clip=0.5, decay=0.1, lr_min=0.02).lamina_optimizer()
    assert native.clipvalue == 0.5
    np.testing.assert_allclose(step(native, [0.0], [4.0]), [-0.1 * 0.5])  # t = 0: lr, clipped
    assert native.schedule(10) == pytest.approx(0.05)
    assert native.schedule(1000) == pytest.approx(0.02)  # never below lr_min


@pytest.mark.parametrize("make, message", [
    (lambda: SGD(lr=-1), "slugnet SGD expects lr as a number >= 0"),
    (lambda: RMSProp(epsilon="small"), "slugnet RMSProp expects epsilon"),
    (lambda: SGD(lr_min=1.0, lr_max=0.5), "expects lr_min <= lr_max"),
])
def test_bad_settings_name_the_optimizer(make, message):
    with pytest.raises(ConfigError, match=message):
        make()
