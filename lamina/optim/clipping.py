"""Gradient clipping, in place on ``Parameter.grad`` (as torch.nn.utils) or on a list of arrays.

    clip_grad_value(params, v):   g = clip(g, -v, v)  elementwise
    clip_grad_norm(params, c):    total = sqrt(sum_i ||g_i||^2);  g_i *= min(1, c / (total + 1e-6))

Optimizers apply the same rules to the gradients they use, without touching ``.grad``, when
built with ``clipvalue=``, ``clipnorm=`` (each gradient by its own norm) or ``global_clipnorm=``
(all gradients by their joint norm), as Keras optimizers do.

>>> import numpy as np
>>> from lamina import Parameter
>>> p = Parameter(np.zeros(2)); p.grad = np.array([3.0, 4.0])
>>> round(clip_grad_norm([p], 1.0), 6)
5.0
>>> np.round(p.grad, 6)
array([0.6, 0.8])
"""

import numpy as np

from lamina.functional.checks import check_real

__all__ = ["clip_grad_value", "clip_grad_norm", "global_norm", "clip_arrays"]


def _positive(name, value):
    return check_real("Gradient clipping", name, value, 0, low_open=True)


def global_norm(arrays):
    """sqrt(sum of squares of every element of every array), accumulated in float64."""
    return float(np.sqrt(sum(float(np.vdot(a, a)) for a in arrays)))


def clip_grad_value(parameters, clip_value):
    """Clip every ``p.grad`` to [-clip_value, clip_value] in place (torch's clip_grad_value_)."""
    clip_value = _positive("clip_value", clip_value)
    for p in parameters:
        if p.grad is not None:
            np.clip(p.grad, -clip_value, clip_value, out=p.grad)


def clip_grad_norm(parameters, max_norm):
    """Scale every ``p.grad`` in place so their joint L2 norm is at most max_norm (torch's
    clip_grad_norm_, same 1e-6 guard); returns the norm before clipping."""
    max_norm = _positive("max_norm", max_norm)
    grads = [p.grad for p in parameters if p.grad is not None]
    total = global_norm(grads)
    scale = max_norm / (total + 1e-6)
    if scale < 1.0:
        for g in grads:
            g *= g.dtype.type(scale)
    return total


def clip_arrays(grads, clipvalue=None, clipnorm=None, global_clipnorm=None):
    """New arrays: the Keras optimizer rules, in the order value, per-array norm, global norm."""
    if clipvalue is not None:
        grads = [np.clip(g, -clipvalue, clipvalue) for g in grads]
    if clipnorm is not None:
        grads = [g * g.dtype.type(min(1.0, clipnorm / n)) if (n := global_norm([g])) > 0 else g
                 for g in grads]
    if global_clipnorm is not None:
        total = global_norm(grads)
        if total > global_clipnorm:
            grads = [g * g.dtype.type(global_clipnorm / total) for g in grads]
    return grads
