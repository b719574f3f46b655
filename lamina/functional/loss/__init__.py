"""Losses: each returns the loss and its gradient at once, one family per module.

``loss, dinput = op(input, labels, ...)``; the loss is a Python float, the gradient has the
input's shape and dtype and already carries the 1/N of the mean (the only place lamina
divides by N). reduction="mean" (default), "sum" or "none", as PyTorch. With "none" the loss
is an array in the input's dtype, PyTorch's shape (per element for the elementwise losses and
KL divergence, per sample (N,) or position (N, d1, ..., dk) for the class losses), and the
gradient is that of the returned losses' sum. Every kernel reduces in one place
(reduce.reduce_losses; reduce.reduce_weighted weighs each sample, as Keras). Labels for
classification are class ids (N,) or rows (N, C) (one-hot or probabilities); elementwise
losses take a target of the input's shape, or (N,) for an (N, 1) input.

Modules: classification (softmax_cross_entropy, cross_entropy_from_probs, nll_loss,
hinge_loss) over class_targets; binary (binary_cross_entropy, ..._with_logits); regression
(mse_loss, l1_loss, smooth_l1_loss, huber_loss); divergence (kl_div_loss); the shared checks
(checks), the elementwise losses' targets (elementwise) and the reduction (reduce).
"""

from lamina.functional.loss.binary import binary_cross_entropy, binary_cross_entropy_with_logits
from lamina.functional.loss.classification import (cross_entropy_from_probs, hinge_loss,
                                                   nll_loss, softmax_cross_entropy)
from lamina.functional.loss.divergence import kl_div_loss
from lamina.functional.loss.regression import huber_loss, l1_loss, mse_loss, smooth_l1_loss

__all__ = ["softmax_cross_entropy", "cross_entropy_from_probs", "nll_loss", "hinge_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "mse_loss", "l1_loss",
           "smooth_l1_loss", "huber_loss", "kl_div_loss"]
