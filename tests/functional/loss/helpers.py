"""Shared helpers of the loss kernels' tests: central-difference gradients and label forms."""

import numpy as np

from lamina.gradcheck import GradcheckError, numerical_gradient


def assert_gradient(loss_fn, x, labels, rtol=1e-6, atol=1e-8, **options):
    """The analytic gradient returned by loss_fn(x, labels, **options) against central differences."""
    x = np.array(x, dtype=np.float64)
    _, analytic = loss_fn(x, labels, **options)
    numeric = numerical_gradient(lambda: loss_fn(x, labels, **options)[0], x)
    if not np.allclose(analytic, numeric, rtol=rtol, atol=atol):
        raise GradcheckError(f"{loss_fn.__name__}({options}): analytic\n{analytic}\nnumeric\n{numeric}")


def class_ids(rng, N, C):
    return rng.integers(0, C, size=N)


def one_hot(ids, C, dtype=np.float64):
    return np.eye(C, dtype=dtype)[ids]


def probability_rows(rng, N, C):
    return rng.dirichlet(np.ones(C), size=N)


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
