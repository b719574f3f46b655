"""slugnet.loss: the objectives a Model trains with, as lamina losses.

``SoftmaxCategoricalCrossEntropy`` is lamina's cross-entropy: the mean over examples of
-sum_c y_c log p_c. With a final Softmax activation (the usual ``Dense(10,
activation=Softmax())``) lamina fuses the two and the loss takes the logits, which is exact
and gives the gradient p - y that slugnet passed through its Softmax. Without one, the loss
applies the softmax itself. Labels are one-hot rows (N, C), as slugnet's, or class ids (N,).

``BinaryCrossEntropy`` is lamina's binary cross-entropy on probabilities (after a Sigmoid),
summed over the outputs of an example and averaged over examples, as slugnet's equation
-1/N sum_i [y_i log p_i + (1 - y_i) log(1 - p_i)]. Targets: (N, k) or (N,) for one output.

``forward(outputs, targets)`` gives the loss of probabilities, as slugnet's did. epsilon is
kept for compatibility: lamina's kernels need no clipping (log terms clamp at -100, as
PyTorch's), except SoftmaxCategoricalCrossEntropy.forward, which clips at epsilon.

>>> round(SoftmaxCategoricalCrossEntropy().forward(np.array([[0.5, 0.5]]), np.array([[0, 1]])), 6)
0.693147
"""

import numpy as np

from lamina import losses
from lamina.backend import as_float_array
from lamina.functional import loss as kernels

__all__ = ["Objective", "SoftmaxCategoricalCrossEntropy", "BinaryCrossEntropy"]


class Objective:
    """Base class: ``lamina_loss()`` is the lamina loss a Model compiles with."""

    def __init__(self, epsilon=1e-11):
        self.epsilon = epsilon

    def lamina_loss(self):
        raise NotImplementedError(f"{type(self).__name__}.lamina_loss")

    def forward(self, outputs, targets):
        """The loss (a float) of the outputs (probabilities) against the targets."""
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def __str__(self):
        return type(self).__name__

    def __repr__(self):
        return f"{type(self).__name__}(epsilon={self.epsilon!r})"


class SoftmaxCategoricalCrossEntropy(Objective):
    """Categorical cross-entropy: lamina.losses.CrossEntropy (softmax fused, see above)."""

    def lamina_loss(self):
        return losses.CrossEntropy(from_logits=True)

    def forward(self, outputs, targets):
        return kernels.cross_entropy_from_probs(as_float_array(outputs), np.asarray(targets),
                                                eps=self.epsilon)[0]


class BinaryCrossEntropy(Objective):
    """Binary cross-entropy on probabilities: lamina.losses.BCE, per example summed."""

    def lamina_loss(self):
        return _PerExample(losses.BCE(reduction="sum"))

    def forward(self, outputs, targets):
        return self.lamina_loss()(as_float_array(outputs), np.asarray(targets))[0]


class _PerExample:
    """A summed lamina loss divided by the number of examples: (loss / N, dpred / N)."""

    def __init__(self, summed):
        self.summed = summed

    def __call__(self, pred, y):
        loss, dpred = self.summed(pred, y)
        return loss / len(pred), dpred / len(pred)
