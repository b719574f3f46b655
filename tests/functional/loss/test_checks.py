"""The checks every loss kernel shares: the reduction, and inputs that must be probabilities."""

import numpy as np
import pytest

from lamina.errors import ConfigError, NonFiniteError
from lamina.functional.loss.checks import REDUCTIONS, check_probabilities, check_reduction


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_check_reduction_returns_a_valid_one(reduction):
    assert check_reduction("op", reduction) == reduction


@pytest.mark.parametrize("reduction, allowed, listed", [
    ("avg", REDUCTIONS, r"\['mean', 'sum', 'none'\]"),
    ("batchmean", REDUCTIONS, r"\['mean', 'sum', 'none'\]"),
    (None, REDUCTIONS, r"\['mean', 'sum', 'none'\]"),
    ("max", ("batchmean", "sum"), r"\['batchmean', 'sum'\]"),
])
def test_check_reduction_refuses_others(reduction, allowed, listed):
    with pytest.raises(ConfigError, match=rf"op expects reduction as one of {listed}. "
                                          rf"Received: reduction={reduction!r}"):
        check_reduction("op", reduction, allowed)


def test_check_probabilities_accepts_the_closed_unit_interval():
    check_probabilities("op", "probs", np.array([0.0, 0.5, 1.0]), "hint")


@pytest.mark.parametrize("probs, error, received", [
    ([0.5, 1.5, -0.5], ConfigError, r"probs\[1\]=1.5, probs\[2\]=-0.5 \(2 of 3 values\)"),
    ([0.5, np.nan, 2.0], NonFiniteError, r"probs\[1\]=nan"),
    ([np.inf, 0.5], ConfigError, r"probs\[0\]=inf"),
])
def test_check_probabilities_names_the_offenders_and_the_hint(probs, error, received):
    with pytest.raises(error, match=rf"op expects probs in \[0, 1\] \(use logits\). "
                                    rf"Received: {received}"):
        check_probabilities("op", "probs", np.array(probs), "use logits")
