"""tinynet.losses against torch: values and gradients."""

import numpy as np
import pytest
import torch

from lamina.compat.tinynet.losses import cross_entropy_with_softmax_loss, mse_loss


def test_cross_entropy_takes_class_ids_or_one_hot(rng):
    logits, labels = rng.standard_normal((6, 3)), rng.integers(0, 3, 6)
    by_id = cross_entropy_with_softmax_loss(logits, labels)
    by_row = cross_entropy_with_softmax_loss(logits, np.eye(3)[labels])
    assert by_id[0] == pytest.approx(by_row[0])
    np.testing.assert_allclose(by_id[1], by_row[1])


def test_mse_matches_torch(rng):
    pred, target = rng.standard_normal((4, 3)), rng.standard_normal(12)
    loss, grad = mse_loss(pred, target)
    t = torch.tensor(pred, requires_grad=True)
    reference = torch.nn.functional.mse_loss(t, torch.tensor(target.reshape(4, 3)))
    reference.backward()
    assert loss == pytest.approx(reference.item())
    np.testing.assert_allclose(grad, t.grad.numpy())
