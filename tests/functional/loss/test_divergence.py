"""KL divergence kernel: gradients, the per-sample divergence, errors."""

import numpy as np
import pytest

from lamina.errors import ConfigError, LabelError
from lamina.functional.loss.divergence import kl_div_loss
from tests.functional.loss.helpers import assert_gradient, probability_rows


@pytest.mark.parametrize("reduction", ["batchmean", "mean", "sum"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_gradient(rng, reduction, log_target):
    log_input = np.log(probability_rows(rng, 5, 4))
    target = probability_rows(rng, 5, 4)
    target[0, 1] = 0.0  # 0 log 0 = 0
    if log_target:
        target = np.log(target + 0.01)
    assert_gradient(kl_div_loss, log_input, target, log_target=log_target, reduction=reduction)


def test_kl_div_is_the_kl_divergence_per_sample(rng):
    p, q = probability_rows(rng, 3, 5), probability_rows(rng, 3, 5)
    expected = np.sum(p * np.log(p / q)) / 3
    assert kl_div_loss(np.log(q), p)[0] == pytest.approx(expected, rel=1e-12)
    assert kl_div_loss(np.log(q), np.log(p), log_target=True)[0] == pytest.approx(expected, rel=1e-12)
    assert kl_div_loss(np.log(q), p, reduction="mean")[0] == pytest.approx(expected / 5, rel=1e-12)
    assert kl_div_loss(np.log(p), p)[0] == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize("call, error, message", [
    (lambda: kl_div_loss(np.zeros((1, 2)), np.array([[1.5, -0.5]])), LabelError,
     r"kl_div_loss expects target probabilities >= 0 .*Received: target\[0, 1\]=-0.5"),
    (lambda: kl_div_loss(np.zeros((1, 2)), np.zeros((1, 2)), log_target=1), ConfigError,
     r"kl_div_loss expects log_target as a bool \(True or False\). Received: log_target=1"),
    (lambda: kl_div_loss(np.zeros((1, 2)), np.zeros((1, 2)), reduction="avg"), ConfigError,
     r"kl_div_loss expects reduction as one of \['batchmean', 'mean', 'sum', 'none'\]"),
])
def test_kl_div_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()
