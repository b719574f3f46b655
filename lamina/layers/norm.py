"""Batch normalisation layers: BatchNorm1D for (N, D), BatchNorm2D for (N, C, H, W)."""

import numpy as np

from lamina.backend import floatx
from lamina.errors import ConfigError, ShapeError
from lamina.functional import norm as F
from lamina.layers.base import Layer
from lamina.parameter import Parameter


class _BatchNorm(Layer):
    """y = gamma * (x - mean) / sqrt(var + eps) + beta, statistics per feature/channel.

    Training uses the batch statistics and updates the running ones as PyTorch does:
    running = (1 - momentum) * running + momentum * batch (momentum = 0.1, the fraction of
    the new value; the functional kernel's bn_param takes the kept fraction 1 - momentum),
    with the unbiased batch variance in running_var. Eval mode uses the running statistics.
    """

    param_names = ("gamma", "beta")
    buffer_names = ("running_mean", "running_var")
    rank, layout = None, None

    def __init__(self, num_features, eps=1e-5, momentum=0.1, name=None):
        super().__init__(name)
        if not 0.0 <= momentum <= 1.0:
            raise ConfigError(f"{type(self).__name__} expects 0 <= momentum <= 1. Received: {momentum!r}")
        if eps <= 0:
            raise ConfigError(f"{type(self).__name__} expects eps > 0. Received: {eps!r}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        if num_features is None:
            self.built = False
        else:
            self.build((None, num_features))

    def build(self, input_shape):
        if self.num_features is None:
            self.num_features = int(input_shape[1])
        d = self.num_features
        self.gamma = Parameter(np.ones(d, floatx()), "gamma")
        self.beta = Parameter(np.zeros(d, floatx()), "beta")
        self.running_mean = np.zeros(d, floatx())
        self.running_var = np.ones(d, floatx())
        self.built = True

    def forward(self, x):
        if not self.built:
            self.build(x.shape)
        self.check_input(x, self.rank, self.layout, 1, self.num_features)
        if self.training and x.size // x.shape[1] < 2:
            raise ShapeError(
                f"{self.describe()} needs more than one value per channel in training mode. "
                f"Received: x.shape={x.shape}"
            )
        bn_param = {
            "mode": "train" if self.training else "test", "eps": self.eps,
            "momentum": 1.0 - self.momentum, "unbiased": True,
            "running_mean": self.running_mean, "running_var": self.running_var,
        }
        out, self._cache = self.forward_kernel(x, self.gamma.data, self.beta.data, bn_param)
        self.running_mean, self.running_var = bn_param["running_mean"], bn_param["running_var"]
        return out

    def backward(self, dout):
        dx, dgamma, dbeta = self.backward_kernel(dout, self._cache)
        self.gamma.accumulate(dgamma)
        self.beta.accumulate(dbeta)
        return dx


class BatchNorm1D(_BatchNorm):
    """Batch norm over (N, D) inputs. See functional.batchnorm_forward for the math."""

    rank, layout = 2, "(N, D)"
    forward_kernel = staticmethod(F.batchnorm_forward)
    backward_kernel = staticmethod(F.batchnorm_backward)


class BatchNorm2D(_BatchNorm):
    """Batch norm over (N, C, H, W), statistics per channel over (N, H, W)."""

    rank, layout = 4, "(N, C, H, W)"
    forward_kernel = staticmethod(F.spatial_batchnorm_forward)
    backward_kernel = staticmethod(F.spatial_batchnorm_backward)
