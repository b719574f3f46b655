"""The loss package's contract: every kernel returns a float and a gradient in the input's
dtype and shape, and leaves its inputs untouched."""

import numpy as np
import pytest

from lamina.functional.loss import (binary_cross_entropy, binary_cross_entropy_with_logits,
                                    cross_entropy_from_probs, hinge_loss, huber_loss, kl_div_loss,
                                    l1_loss, mse_loss, nll_loss, smooth_l1_loss,
                                    softmax_cross_entropy)
from tests.functional.loss.helpers import class_ids, probability_rows


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_preserved_and_inputs_untouched(rng, dtype):
    x = rng.standard_normal((4, 3)).astype(dtype)
    ids = class_ids(rng, 4, 3)
    rows = probability_rows(rng, 4, 3)
    cases = [(softmax_cross_entropy, x, ids), (softmax_cross_entropy, x, rows),
             (cross_entropy_from_probs, rows.astype(dtype), ids), (hinge_loss, x, ids),
             (mse_loss, x, rows)]
    for loss_fn, inputs, labels in cases:
        inputs_before, labels_before = inputs.copy(), labels.copy()
        loss, grad = loss_fn(inputs, labels)
        assert type(loss) is float
        assert grad.dtype == dtype and grad.shape == inputs.shape
        np.testing.assert_array_equal(inputs, inputs_before)
        np.testing.assert_array_equal(labels, labels_before)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_new_losses_keep_dtype_and_inputs(rng, dtype):
    x = rng.standard_normal((4, 3)).astype(dtype)
    probs = rng.uniform(0.1, 0.9, size=(4, 3)).astype(dtype)
    target = rng.uniform(0, 1, size=(4, 3))
    ids = class_ids(rng, 4, 3)
    cases = [(softmax_cross_entropy, x, ids, dict(weight=[1.0, 2.0, 3.0], label_smoothing=0.1)),
             (cross_entropy_from_probs, probs, ids, dict(weight=np.array([1, 2, 3]))),
             (nll_loss, x, ids, dict(weight=[1.0, 2.0, 3.0])),
             (binary_cross_entropy, probs, target, dict(weight=np.ones(3))),
             (binary_cross_entropy_with_logits, x, target, dict(pos_weight=np.full(3, 2.0))),
             (l1_loss, x, target, {}), (smooth_l1_loss, x, target, dict(beta=np.float64(0.5))),
             (huber_loss, x, target, dict(delta=0.5)), (kl_div_loss, x, target, {})]
    for loss_fn, inputs, labels, options in cases:
        inputs_before, labels_before = inputs.copy(), labels.copy()
        loss, grad = loss_fn(inputs, labels, **options)
        assert type(loss) is float and np.isfinite(loss)
        assert grad.dtype == dtype and grad.shape == inputs.shape, loss_fn.__name__
        np.testing.assert_array_equal(inputs, inputs_before)
        np.testing.assert_array_equal(labels, labels_before)
