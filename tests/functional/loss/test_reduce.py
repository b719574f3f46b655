"""The one reduction every loss kernel shares (reduce_losses), its per-sample weighting
(reduce_weighted), and the contract of reduction="none" in every kernel: PyTorch's shapes, the
input's dtype, losses summing to reduction="sum", and a gradient that is that of their sum."""

import numpy as np
import pytest

from lamina.functional.loss import (binary_cross_entropy, binary_cross_entropy_with_logits,
                                    cross_entropy_from_probs, hinge_loss, huber_loss, kl_div_loss,
                                    l1_loss, mse_loss, nll_loss, smooth_l1_loss,
                                    softmax_cross_entropy)
from lamina.functional.loss.reduce import per_sample, reduce_losses, reduce_weighted
from tests.functional.loss.helpers import assert_gradient


@pytest.mark.parametrize("reduction, divisor", [("mean", 6), ("sum", 1), ("batchmean", 2)])
def test_reduce_losses_divides_loss_and_gradient_alike(reduction, divisor):
    losses = np.arange(6.0).reshape(2, 3)
    loss, grad = reduce_losses(losses, 2 * losses, reduction)
    assert type(loss) is float and loss == 15.0 / divisor
    np.testing.assert_array_equal(grad, 2 * losses / divisor)


def test_reduce_losses_none_returns_them_as_they_are():
    losses, grad = np.arange(6.0).reshape(2, 3), np.ones((2, 3))
    assert reduce_losses(losses, grad, "none") == (losses, grad)


def test_a_given_divisor_counts_for_the_mean_only():
    losses, grad = np.array([1.0, 3.0]), np.array([2.0, 4.0])
    assert reduce_losses(losses, grad, "mean", divisor=8.0)[0] == 0.5
    assert reduce_losses(losses, grad, "sum", divisor=8.0)[0] == 4.0
    loss, grad = reduce_losses(losses, grad, "mean", divisor=0)  # every target ignored: torch's nan
    assert np.isnan(loss) and not grad.any()


def test_reduce_weighted_scales_each_sample_and_divides_by_the_count():
    losses = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], np.float32)
    grad = np.ones((3, 2, 2), np.float32)  # another layout than the losses, same batch axis
    weights = np.array([2.0, 0.0, 1.0])
    loss, dgrad = reduce_weighted(losses, grad, weights, "mean")
    assert loss == pytest.approx((2 * 3 + 0 + 11) / 6)  # sum_i w_i mean_i / N
    assert dgrad.dtype == np.float32
    np.testing.assert_allclose(dgrad[:, 0, 0], weights / 6, rtol=1e-7)
    assert reduce_weighted(losses, grad, weights, "sum")[0] == pytest.approx(17.0)
    assert reduce_weighted(losses, grad, weights, "batchmean")[0] == pytest.approx(17.0 / 3)
    weighted, _ = reduce_weighted(losses, grad, weights, "none")
    np.testing.assert_array_equal(weighted, losses * weights[:, None].astype(np.float32))
    assert weighted.dtype == np.float32


def test_per_sample_broadcasts_along_the_batch_axis_in_the_arrays_dtype():
    shaped = per_sample(np.array([1.0, 2.0]), np.zeros((2, 3, 4), np.float32))
    assert shaped.shape == (2, 1, 1) and shaped.dtype == np.float32


# kernel, input maker, labels maker, options, the shape of reduction="none"'s losses
def _logits(rng, shape):
    return 2 * rng.standard_normal(shape)


def _probs(rng, shape):
    return rng.uniform(0.05, 0.95, shape)


KERNELS = {
    "softmax_cross_entropy": (softmax_cross_entropy, _logits, "ids",
                              dict(weight=[1.0, 2.0, 0.5], label_smoothing=0.2, ignore_index=1),
                              (5, 3), (5,)),
    "softmax_cross_entropy-positions": (softmax_cross_entropy, _logits, "position-ids",
                                        dict(label_smoothing=0.1), (2, 3, 4, 2), (2, 4, 2)),
    "softmax_cross_entropy-rows": (softmax_cross_entropy, _logits, "rows", {}, (4, 3), (4,)),
    "cross_entropy_from_probs": (cross_entropy_from_probs,
                                 lambda rng, shape: rng.dirichlet(np.ones(shape[1]), shape[0]),
                                 "ids", dict(weight=[1.0, 2.0, 0.5]), (5, 3), (5,)),
    "nll_loss": (nll_loss, _logits, "ids", dict(ignore_index=0), (6, 3), (6,)),
    "hinge_loss": (hinge_loss, _logits, "ids", {}, (5, 3), (5,)),
    "binary_cross_entropy": (binary_cross_entropy, _probs, "unit", dict(weight=[1.0, 3.0]),
                             (3, 2), (3, 2)),
    "binary_cross_entropy_with_logits": (binary_cross_entropy_with_logits, _logits, "unit",
                                         dict(pos_weight=[2.0, 0.5]), (2, 3, 2), (2, 3, 2)),
    "mse_loss": (mse_loss, _logits, "real", {}, (4,), (4,)),
    "l1_loss": (l1_loss, _logits, "real", {}, (2, 3), (2, 3)),
    "smooth_l1_loss": (smooth_l1_loss, _logits, "real", dict(beta=0.5), (3, 3), (3, 3)),
    "huber_loss": (huber_loss, _logits, "real", dict(delta=0.8), (3, 1, 2), (3, 1, 2)),
    "kl_div_loss": (kl_div_loss, _logits, "unit", dict(log_target=False), (3, 4), (3, 4)),
}


def make_case(rng, name):
    kernel, make_input, labels, options, shape, none_shape = KERNELS[name]
    x = make_input(rng, shape)
    y = {"ids": lambda: rng.integers(0, shape[1], shape[0]),
         "position-ids": lambda: rng.integers(0, shape[1], none_shape),
         "rows": lambda: rng.dirichlet(np.ones(shape[1]), shape[0]),
         "unit": lambda: rng.uniform(0, 1, shape),
         "real": lambda: rng.standard_normal(shape)}[labels]()
    return kernel, x, y, options, none_shape


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(KERNELS))
def test_none_is_unreduced_in_the_inputs_dtype(rng, name, dtype):
    kernel, x, y, options, none_shape = make_case(rng, name)
    x = x.astype(dtype)
    losses, grad = kernel(x, y, reduction="none", **options)
    assert isinstance(losses, np.ndarray) and losses.shape == none_shape
    assert losses.dtype == grad.dtype == dtype and grad.shape == x.shape
    total, total_grad = kernel(x, y, reduction="sum", **options)
    assert np.sum(losses, dtype=np.float64) == pytest.approx(total, rel=1e-5)
    np.testing.assert_allclose(grad, total_grad, rtol=1e-5)


@pytest.mark.parametrize("name", list(KERNELS))
def test_none_gradient_is_that_of_the_losses_sum(rng, name):
    kernel, x, y, options, _ = make_case(rng, name)

    def summed(inputs, labels, **kwargs):
        losses, grad = kernel(inputs, labels, reduction="none", **kwargs)
        return float(np.sum(losses)), grad

    summed.__name__ = kernel.__name__
    assert_gradient(summed, x, y, **options)


def test_none_gives_ignored_targets_zero_loss_and_gradient():
    logits = np.array([[1.0, 2.0], [0.5, 0.0], [3.0, -1.0]])
    losses, grad = softmax_cross_entropy(logits, [1, -100, 0], reduction="none")
    assert losses[1] == 0.0 and not grad[1].any() and np.all(losses[[0, 2]] > 0)
    assert not np.signbit(losses).any()  # +0.0, never -0.0
