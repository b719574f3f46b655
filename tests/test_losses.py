"""Loss objects: delegation to the kernels, names, configs and get()."""

import numpy as np
import pytest

from lamina import losses
from lamina.errors import ConfigError
from lamina.functional.loss import (cross_entropy_from_probs, hinge_loss, mse_loss,
                                    softmax_cross_entropy)


@pytest.fixture
def batch(rng):
    return rng.standard_normal((5, 4)), rng.integers(0, 4, size=5)


@pytest.mark.parametrize("loss_obj, kernel", [
    (losses.CrossEntropy(), softmax_cross_entropy),
    (losses.CrossEntropy(from_logits=False), cross_entropy_from_probs),
    (losses.Hinge(), hinge_loss),
])
def test_objects_delegate_to_kernels(batch, loss_obj, kernel):
    scores, y = batch
    scores = np.abs(scores) if kernel is cross_entropy_from_probs else scores
    loss, grad = loss_obj(scores, y)
    expected_loss, expected_grad = kernel(scores, y)
    assert loss == expected_loss
    np.testing.assert_array_equal(grad, expected_grad)


def test_mse_delegates(rng):
    pred, target = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    assert losses.MSE()(pred, target)[0] == mse_loss(pred, target)[0]


def test_cross_entropy_on_probabilities_matches_logits(batch):
    logits, y = batch
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    from_logits, dlogits = losses.CrossEntropy()(logits, y)
    from_probs, dprobs = losses.CrossEntropy(from_logits=False)(probs, y)
    assert from_probs == pytest.approx(from_logits, rel=1e-12)
    # chain dprobs through the softmax Jacobian: dz = p * (dp - sum(dp * p))
    chained = probs * (dprobs - np.sum(dprobs * probs, axis=1, keepdims=True))
    np.testing.assert_allclose(chained, dlogits, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("loss_obj, name", [
    (losses.CrossEntropy(), "cross_entropy"), (losses.Hinge(), "hinge"), (losses.MSE(), "mse"),
])
def test_names_and_config_round_trip(loss_obj, name):
    assert loss_obj.name == name
    rebuilt = type(loss_obj)(**loss_obj.get_config())
    assert rebuilt.get_config() == loss_obj.get_config()
    assert losses.CrossEntropy(from_logits=False).get_config() == {"from_logits": False}


def test_from_logits_must_be_bool():
    with pytest.raises(ConfigError, match="CrossEntropy.*Received: from_logits='yes'"):
        losses.CrossEntropy(from_logits="yes")


@pytest.mark.parametrize("identifier, cls", [
    ("cross_entropy", losses.CrossEntropy), ("categorical_crossentropy", losses.CrossEntropy),
    ("sparse_categorical_crossentropy", losses.CrossEntropy),
    ("softmax_cross_entropy", losses.CrossEntropy), ("Cross_Entropy", losses.CrossEntropy),
    ("hinge", losses.Hinge), ("mse", losses.MSE), ("mean_squared_error", losses.MSE),
    (losses.MSE, losses.MSE),
])
def test_get_by_name(identifier, cls):
    loss_obj = losses.get(identifier)
    assert type(loss_obj) is cls
    assert getattr(loss_obj, "from_logits", True) is True


def test_get_passes_instances_and_callables_through():
    instance = losses.CrossEntropy(from_logits=False)
    assert losses.get(instance) is instance
    assert losses.get(mse_loss) is mse_loss


@pytest.mark.parametrize("identifier", ["crossentropy", "", None, 3, losses.Loss, int])
def test_get_unknown(identifier):
    with pytest.raises(ConfigError, match=r"Unknown loss.*'cross_entropy'.*'mse'.*Received: "):
        losses.get(identifier)
