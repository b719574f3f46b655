"""slugnet.loss: values as slugnet's equations, gradients as lamina's (and torch's) losses."""

import numpy as np
import pytest
import torch

from lamina import losses
from lamina.compat.slugnet.loss import BinaryCrossEntropy, SoftmaxCategoricalCrossEntropy


def test_categorical_cross_entropy_value(rng):
    probs = rng.dirichlet(np.ones(4), size=5)
    targets = np.eye(4)[rng.integers(0, 4, 5)]
    expected = np.mean(-np.sum(targets * np.log(probs), axis=1))
    assert SoftmaxCategoricalCrossEntropy().forward(probs, targets) == pytest.approx(expected)
    assert SoftmaxCategoricalCrossEntropy().forward(probs, targets.argmax(1)) == \
        pytest.approx(expected)


def test_categorical_cross_entropy_trains_on_logits():
    loss = SoftmaxCategoricalCrossEntropy().lamina_loss()
    assert isinstance(loss, losses.CrossEntropy) and loss.from_logits


def test_binary_cross_entropy_sums_over_outputs_and_averages_over_examples(rng):
    probs = rng.uniform(0.05, 0.95, (6, 3))
    targets = rng.integers(0, 2, (6, 3)).astype(float)
    expected = -np.mean(np.sum(targets * np.log(probs) + (1 - targets) * np.log(1 - probs), 1))
    assert BinaryCrossEntropy().forward(probs, targets) == pytest.approx(expected)
    value, grad = BinaryCrossEntropy().lamina_loss()(probs, targets)
    p = torch.tensor(probs, requires_grad=True)
    reference = torch.nn.functional.binary_cross_entropy(p, torch.tensor(targets),
                                                         reduction="sum") / len(probs)
    reference.backward()
    assert value == pytest.approx(reference.item())
    np.testing.assert_allclose(grad, p.grad.numpy(), rtol=1e-10)


def test_binary_cross_entropy_takes_a_column_of_targets():
    value, _ = BinaryCrossEntropy().lamina_loss()(np.array([[0.8], [0.3]]), np.array([1, 0]))
    assert value == pytest.approx(-(np.log(0.8) + np.log(0.7)) / 2)
