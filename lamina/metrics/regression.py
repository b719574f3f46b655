"""MeanSquaredError and MeanAbsoluteError over every row seen (sklearn's
mean_squared_error / mean_absolute_error, multioutput="uniform_average").

y_pred (N, ...) and y_true of the same shape ((N,) and (N, 1) also pair up); each row's error
is the mean over its values, and the result the weighted mean over rows:

    MSE = sum_i w_i mean_j (y_ij - p_ij)^2 / sum_i w_i     MAE: |y_ij - p_ij| instead
"""

import numpy as np

from lamina.errors import ShapeError
from lamina.metrics.base import WeightedMean
from lamina.metrics.inputs import sample_weights

__all__ = ["MeanSquaredError", "MeanAbsoluteError"]


class _MeanRowError(WeightedMean):
    """The weighted mean over rows of error(y_true - y_pred) averaged within each row."""

    def update_state(self, y_true, y_pred, sample_weight=None):
        where = f"{type(self).__name__} '{self.name}'"
        truth, pred = np.asarray(y_true), np.asarray(y_pred)
        if truth.dtype.kind not in "biuf" or pred.dtype.kind not in "biuf" or pred.ndim == 0 \
                or truth.reshape(len(truth), -1).shape != pred.reshape(len(pred), -1).shape:
            raise ShapeError(f"{where} expects y_true and y_pred as numbers of one shape "
                             f"(N, ...). Received: y_true of shape {truth.shape} and dtype "
                             f"{truth.dtype}, y_pred of shape {pred.shape} and dtype "
                             f"{pred.dtype}")
        difference = truth.reshape(len(truth), -1).astype(np.float64) \
            - pred.reshape(len(pred), -1).astype(np.float64)
        rows = self.error(difference).mean(axis=1)
        weights = sample_weights(where, sample_weight, len(rows))
        self.add(weights @ rows, weights.sum())


class MeanSquaredError(_MeanRowError):
    default_name = "mean_squared_error"
    error = staticmethod(np.square)


class MeanAbsoluteError(_MeanRowError):
    default_name = "mean_absolute_error"
    error = staticmethod(np.abs)
