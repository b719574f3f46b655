"""Shared checks for the compat adapters: numerical gradients of a forward/backward pair,
and MNIST stand-ins (the embedded digits, enlarged to 28x28) for the slugnet examples."""

import numpy as np

import lamina
from lamina.gradcheck import numerical_gradient


def assert_gradients(forward, backward, x, params=(), rtol=1e-5, atol=1e-7, seed=0):
    """backward(dout) (the input gradient) and each param's gradient against central
    differences of sum(forward(x) * dout), all in float64.

    params: pairs (array, read_gradient), the array being the one forward reads (perturbed in
    place), read_gradient() the gradient the adapter stored for it.
    """
    dout = np.random.default_rng(seed).standard_normal(np.shape(forward(x)))
    dx = backward(dout)
    stored = [np.array(read()) for _, read in params]

    def loss():
        return float(np.sum(forward(x) * dout))

    np.testing.assert_allclose(dx, numerical_gradient(loss, x), rtol=rtol, atol=atol,
                               err_msg="input gradient: adapter (actual) vs numerical (desired)")
    for i, ((array, _), analytic) in enumerate(zip(params, stored)):
        np.testing.assert_allclose(analytic, numerical_gradient(loss, array), rtol=rtol,
                                   atol=atol, err_msg=f"parameter {i}: adapter vs numerical")


def digits_as_mnist(n_train, n_test):
    """A load_mnist stand-in: the first digits, 0..255 uint8, enlarged 3x and padded to 28x28."""
    (x, y), (xt, yt) = lamina.datasets.load_digits()

    def grow(images):
        big = np.kron(images / 16.0 * 255, np.ones((3, 3))).astype(np.uint8)
        canvas = np.zeros((len(images), 28, 28), np.uint8)
        canvas[:, 2:26, 2:26] = big
        return canvas

    def load(path=None, download=True):
        return ((grow(x[:n_train]), y[:n_train].astype(np.uint8)),
                (grow(xt[:n_test]), yt[:n_test].astype(np.uint8)))
    return load


def as_float64(layer):
    """A slugnet layer with its lamina parts converted to float64 in place (for gradchecks)."""
    for part in layer.parts:
        part.astype(np.float64)
    return layer
