"""Loss sums over pieces of a batch add up to the batch's mean loss and gradient."""

import numpy as np
import pytest

from lamina import losses
from lamina.distributed.sums import loss_sums, normalizer

rng = np.random.default_rng(0)
N, C = 9, 4
LOGITS = rng.standard_normal((N, C))
IDS = np.array([0, 3, 1, -100, 2, 2, 0, 3, 1])  # one ignored row
ROWS = np.eye(C)[[0, 3, 1, 1, 2, 2, 0, 3, 1]]
TARGET = rng.random((N, C))
WEIGHT = np.array([0.5, 2.0, 1.0, 3.0])

CASES = [
    (losses.CrossEntropy(), IDS.clip(0)),
    (losses.CrossEntropy(weight=WEIGHT, label_smoothing=0.1), IDS),
    (losses.CrossEntropy(weight=WEIGHT), ROWS),
    (losses.CrossEntropy(from_logits=False), IDS.clip(0)),
    (losses.NLL(weight=WEIGHT), IDS),
    (losses.CrossEntropy(reduction="sum"), IDS.clip(0)),
    (losses.Hinge(), IDS.clip(0)),
    (losses.MSE(), TARGET),
    (losses.BCEWithLogits(pos_weight=WEIGHT), TARGET),
    (losses.Huber(delta=0.5), TARGET),
    (losses.KLDiv(), TARGET / TARGET.sum(axis=1, keepdims=True)),
    (losses.KLDiv(reduction="mean"), TARGET / TARGET.sum(axis=1, keepdims=True)),
]


def prediction(loss):
    if isinstance(loss, losses.CrossEntropy) and not loss.from_logits:
        return np.exp(LOGITS) / np.exp(LOGITS).sum(axis=1, keepdims=True)
    if isinstance(loss, (losses.NLL, losses.KLDiv)):
        return LOGITS - np.log(np.exp(LOGITS).sum(axis=1, keepdims=True))
    return LOGITS


def plain_mean_of_rows(pred, y):
    """A loss that is a plain function (no reduction attribute): mean squared error per row."""
    diff = pred - y
    return float(np.mean(np.sum(diff**2, axis=1))), 2 * diff / len(pred)


@pytest.mark.parametrize("loss, y", CASES + [(plain_mean_of_rows, TARGET)],
                         ids=lambda case: repr(case)[:40] if not isinstance(case, np.ndarray)
                         else "")
def test_pieces_add_up_to_the_whole_batch(loss, y):
    pred = prediction(loss)
    expected_loss, expected_grad = loss(pred, y)
    split = (np.array([4, 0, 7]), np.array([1, 2, 3, 5, 6, 8]))
    pieces = [loss_sums(loss, pred[rows], y[rows]) for rows in split]
    divisor = normalizer(loss, sum(divisor for *_, divisor in pieces))
    total = sum(loss_sum for loss_sum, *_ in pieces) / divisor
    grad = np.zeros_like(pred)
    for rows, (_, dout, _) in zip(split, pieces):
        grad[rows] = dout / divisor
    assert total == pytest.approx(expected_loss, rel=1e-13)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-13, atol=1e-16)


def test_the_summed_variant_is_made_once_and_leaves_the_loss_as_configured():
    loss = losses.MSE()
    loss_sums(loss, LOGITS, TARGET)
    loss_sums(loss, LOGITS, TARGET)
    assert loss.reduction == "mean" and loss.get_config() == {"reduction": "mean"}
