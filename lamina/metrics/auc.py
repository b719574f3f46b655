"""AUC: the exact area under the ROC curve, binary or one-vs-rest macro (sklearn's
roc_auc_score, multi_class="ovr").

For scores s and weights w, with positives P and negatives Q (weights summed),

    AUC = sum_{p in P, q in Q} w_p w_q ([s_p > s_q] + [s_p == s_q] / 2) / (sum_P w * sum_Q w)

the probability that a positive scores above a negative, ties counted half: exactly the
trapezoidal area under the ROC curve through every distinct threshold. Computed in one sort:
rows grouped by distinct score, each group's positives count the negatives below it plus half
of its own. No thresholds are binned, so the metric keeps every score it sees: memory grows
by 8 * (K + 2) bytes per row (K = 1 score column for two classes, C for more), about 2.4 MB
per 100,000 rows of 1 column; reset_state frees it.
"""

import numpy as np

from lamina.errors import ShapeError
from lamina.metrics.base import Metric
from lamina.metrics.inputs import sample_weights, scores_of, true_classes

__all__ = ["AUC", "roc_auc"]


def roc_auc(scores, positive, weights):
    """The exact ROC AUC of scores (N,) for the boolean positive (N,) with weights (N,)
    (formula above); nan when the positives or the negatives weigh nothing (one class)."""
    positive_weights = np.where(positive, weights, 0.0)
    negative_weights = weights - positive_weights
    positives, negatives = positive_weights.sum(), negative_weights.sum()
    if positives == 0 or negatives == 0:
        return float("nan")
    distinct, group = np.unique(scores, return_inverse=True)
    positive_groups = np.bincount(group, positive_weights, len(distinct))
    negative_groups = np.bincount(group, negative_weights, len(distinct))
    below = np.cumsum(negative_groups) - negative_groups
    return float(positive_groups @ (below + 0.5 * negative_groups) / (positives * negatives))


class AUC(Metric):
    """ROC AUC over every row seen. Two classes: y_pred (N, 2) (column 1 is the positive
    score), (N,) or (N, 1). More classes: y_pred (N, C), one-vs-rest, the mean over the
    classes whose AUC is defined (present in y_true and not alone); nan when none is, as
    scikit-learn gives for one class (it also warns).

    >>> auc = AUC()
    >>> auc.update_state([1, 1, 0, 0], np.array([0.8, 0.5, 0.5, 0.1]))  # a tie counts half
    >>> auc.result()
    0.875
    """

    default_name = "auc"
    running = False

    def initial_state(self):
        self._pending = []
        return {"scores": np.zeros((0, 0), np.float64), "labels": np.zeros(0, np.int64),
                "weights": np.zeros(0, np.float64)}

    def update_state(self, y_true, y_pred, sample_weight=None):
        where = f"AUC '{self.name}'"
        scores = scores_of(where, y_pred)
        classes = 2 if scores.ndim == 1 or scores.shape[1] == 2 else scores.shape[1]
        labels = true_classes(where, y_true, len(scores), classes)
        kept = scores.reshape(len(scores), -1)[:, -1:] if classes == 2 else scores
        columns = self._columns()
        if columns and kept.shape[1] != columns:
            raise ShapeError(f"{where} has kept scores for {max(columns, 2)} classes; y_pred of "
                             f"every batch must have them. Received: y_pred of shape "
                             f"{np.shape(y_pred)}")
        self._pending.append((kept.astype(np.float64), labels.astype(np.int64),
                              sample_weights(where, sample_weight, len(labels))))

    def _columns(self):
        return self._pending[0][0].shape[1] if self._pending else self.state["scores"].shape[1]

    def _gathered(self):
        """The state with the batches seen since the last call joined on (one copy each)."""
        if self._pending:
            parts = [(self.state["scores"], self.state["labels"], self.state["weights"])] \
                if len(self.state["labels"]) else []
            parts += self._pending
            self.state = {"scores": np.concatenate([p[0] for p in parts]),
                          "labels": np.concatenate([p[1] for p in parts]),
                          "weights": np.concatenate([p[2] for p in parts])}
            self._pending = []
        return self.state

    def get_state(self):
        self._gathered()
        return super().get_state()

    def set_state(self, state):
        super().set_state(state)
        self._pending = []

    def result(self):
        """The AUC (nan when undefined: one class, or no rows)."""
        state = self._gathered()
        scores, labels, weights = state["scores"], state["labels"], state["weights"]
        if scores.shape[1] == 1:
            return roc_auc(scores[:, 0], labels == 1, weights)
        values = np.array([roc_auc(scores[:, k], labels == k, weights)
                           for k in range(scores.shape[1])])
        defined = ~np.isnan(values)
        return float(values[defined].mean()) if defined.any() else float("nan")
