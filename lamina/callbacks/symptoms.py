"""What a training Monitor warns about: each symptom's test, its likely causes and its fixes.

Each check returns the warning's text, or None when all is well. The thresholds are module
constants (a Monitor takes its own values as arguments):

- dead ReLUs: a share of a layer's ReLU units above DEAD_SHARE fired on none of the last
  `window` sampled batches (a normally trained digits CNN has 36-38% of its dense units
  silent over 20 steps, so a lower share is no alarm);
- vanishing / exploding gradients: the first parametrised layer's relative gradient
  ||g|| / ||w|| against the last one's, outside 1/GRADIENT_RATIO .. GRADIENT_RATIO;
- update ratios ||lr * step|| / ||w|| of a weight (ndim >= 2) outside UPDATE_RANGE (healthy:
  near 1e-3);
- the loss stuck at -log(smallest normal float) (87.3365 for float32, 708.3964 for
  float64): a log of a probability that underflowed to 0 and was clipped there;
- the loss rising RISE_STEPS steps in a row (batch losses; noise alone does so with
  probability 1 / (RISE_STEPS + 1)!).
"""

import math
from dataclasses import dataclass

import numpy as np

DEAD_SHARE = 0.6
GRADIENT_RATIO = 1e3
UPDATE_RANGE = (1e-6, 1e-1)
RISE_STEPS = 10
STUCK_STEPS = 3
CLIPPED_LOSSES = {str(np.dtype(t)): -math.log(float(np.finfo(t).tiny))
                  for t in (np.float32, np.float64)}


@dataclass
class TrainingWarning:
    """One problem a Monitor saw: kind ("dead_relu", "vanishing_gradients",
    "exploding_gradients", "update_ratio", "loss_stuck", "loss_rising"), subject (the layer,
    parameter or "loss"), where (epoch and step of the epoch, from 0) and message (what was
    seen, the likely causes and the fixes)."""

    kind: str
    subject: str
    epoch: int
    step: int
    message: str

    def summary(self):
        """"kind (subject)", as the per-epoch logs list it."""
        return f"{self.kind} ({self.subject})"

    def __str__(self):
        return f"Monitor, epoch {self.epoch + 1} step {self.step + 1}: {self.message}"


def dead_relu(layer, share, batches, threshold=DEAD_SHARE):
    """share: the fraction of layer's units dead over `batches` sampled batches."""
    if share <= threshold:
        return None
    return (f"{share:.0%} of the units of {layer} produced no positive output on any of the "
            f"last {batches} sampled batches (dead ReLUs; above {threshold:.0%} is an alarm). "
            f"Likely causes: a learning rate too high, which pushed their biases and weights "
            f"negative for every input, or a poor initialisation. Fixes: lower the learning "
            f"rate, use LeakyReLU or ELU, He initialisation (weight_init='he_normal'), "
            f"BatchNorm before the activation.")


def gradient_ratio(first, last, ratio=GRADIENT_RATIO):
    """first, last: (layer name, ||g|| / ||w||) of the first and last parametrised layers;
    returns (kind, message) or None."""
    (first_name, first_value), (last_name, last_value) = first, last
    if not (last_value > 0 and first_value > 0):
        return None
    rate = first_value / last_value
    if rate < 1 / ratio:
        return "vanishing_gradients", (
            f"the gradients vanish towards the input: {first_name}'s relative gradient "
            f"||g||/||w|| is {rate:.2g} times {last_name}'s, so the first layers barely learn. "
            f"Likely causes: saturating activations (sigmoid, tanh) stacked deep, or weights "
            f"initialised too small. Fixes: ReLU-family activations, He or Glorot "
            f"initialisation, BatchNorm, residual connections.")
    if rate > ratio:
        return "exploding_gradients", (
            f"the gradients explode towards the input: {first_name}'s relative gradient "
            f"||g||/||w|| is {rate:.2g} times {last_name}'s. Likely causes: weights "
            f"initialised too large, a learning rate too high. Fixes: smaller initial weights "
            f"(He or Glorot), gradient clipping (clipnorm= or global_clipnorm=), BatchNorm, a "
            f"lower learning rate.")
    return None


def update_ratio(parameter, ratio, bounds=UPDATE_RANGE):
    """ratio: ||w_after - w_before|| / ||w_before|| of one step of `parameter`."""
    low, high = bounds
    if not math.isfinite(ratio) or low <= ratio <= high:
        return None
    if ratio > high:
        return (f"one optimizer step changes {parameter} by {ratio:.2g} of its size (healthy: "
                f"about 1e-3, alarm above {high:g}): the learning rate is too high for it. "
                f"Fixes: lower the learning rate, add a warm-up, clip gradients.")
    return (f"one optimizer step changes {parameter} by only {ratio:.2g} of its size (healthy: "
            f"about 1e-3, alarm below {low:g}): it hardly learns. Likely causes: a learning "
            f"rate too low, or vanishing gradients. Fixes: raise the learning rate, check "
            f"the gradient norms.")


def clipped_loss(dtype):
    """-log(the smallest normal number of dtype): what a clipped log-probability loss reads
    when every example is maximally wrong (87.3365 for float32); None for other dtypes."""
    return CLIPPED_LOSSES.get(str(np.dtype(dtype)))


def loss_stuck(losses, clipped, steps=STUCK_STEPS):
    """losses: the recent batch losses (a sequence, newest last); clipped: clipped_loss() of
    the model's dtype. The clipped-log pattern: the last `steps` losses all equal it."""
    if clipped is None or len(losses) < steps or \
            not all(abs(losses[-k] - clipped) <= 1e-4 * clipped for k in range(1, steps + 1)):
        return None
    tiny = math.exp(-clipped)
    return (f"the loss is stuck at {losses[-1]:.4f} = -log({tiny:.3g}), the log of the "
            f"smallest normal float, for {steps} steps: a cross-entropy on probabilities whose "
            f"true-class probability underflowed to 0 and was clipped there (every example "
            f"maximally wrong; the gradient no longer says which way to go). Likely causes: a "
            f"learning rate too high, exploding logits, a softmax computed apart from its loss. "
            f"Fixes: give the loss logits (lamina's CrossEntropy fuses a final Softmax), lower "
            f"the learning rate, normalise the inputs.")


def loss_rising(losses, steps=RISE_STEPS):
    """losses: the recent batch losses (newest last); the message when each of the last
    `steps` steps raised the loss."""
    if len(losses) <= steps or not all(losses[-k] > losses[-k - 1] for k in range(1, steps + 1)):
        return None
    first, last = losses[-steps - 1], losses[-1]
    return (f"the loss rose on each of the last {steps} steps ({first:.4g} -> {last:.4g}): "
            f"training diverges. Likely cause: a learning rate too high. Fixes: lower it (try "
            f"10x smaller), use a schedule with warm-up, clip gradients.")
