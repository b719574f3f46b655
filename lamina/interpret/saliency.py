"""Saliency: the gradient of a class score with respect to the input (Simonyan et al. 2014),
and SmoothGrad, its mean over noisy copies of the input (Smilkov et al. 2017)."""

import numpy as np

from lamina.functional.checks import check_int, check_number
from lamina.interpret.chain import check_chain, model_inputs, observing, score_gradient

__all__ = ["saliency"]


def saliency(model, x, target, samples=0, noise=0.15, seed=0):
    """d S_target / d x: how each input value moves the class score, through the model's backward.

    model: a Sequential; x: (N, ...) its inputs; target: a class id for every example, or one
    per example (N,). S is the class score before a final Softmax (the logits), so the map is
    not diluted by the other classes. Returns an array of x's shape and dtype (signed; take
    np.abs(...).max(axis=1) for the usual picture). samples > 0 gives SmoothGrad:
    (1/n) sum_i d S / d x at x + e_i, e_i ~ N(0, sigma^2), sigma = noise * (max(x) - min(x))
    per example, drawn from a generator seeded with `seed` (lamina's own is left alone).
    Runs in eval mode; the model's modes, weights, buffers and gradients are left unchanged.
    """
    caller = "lamina.interpret.saliency"
    check_chain(model, caller)
    x = model_inputs(model, x, caller)
    samples = check_int(caller, "samples", samples, 0)  # 0: plain saliency
    noise = check_number(caller, "noise", noise, lambda v: v >= 0, "a number >= 0")
    fused = model.ends_in_softmax()
    with observing(model):
        if not samples:
            return _input_gradient(model, x, target, fused, caller)
        axes = tuple(range(1, x.ndim))
        sigma = noise * (x.max(axis=axes, keepdims=True) - x.min(axis=axes, keepdims=True))
        rng = np.random.default_rng(seed)
        total = np.zeros_like(x)
        for _ in range(samples):  # one noisy copy of the whole batch per sample
            noisy = (x + sigma * rng.standard_normal(x.shape)).astype(x.dtype)
            total += _input_gradient(model, noisy, target, fused, caller)
        return total / x.dtype.type(samples)


def _input_gradient(model, x, target, fused, caller):
    scores = model.forward_logits(x) if fused else model.forward(x)
    grad = score_gradient(caller, target, scores)
    return model.backward_logits(grad) if fused else model.backward(grad)
