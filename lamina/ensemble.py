"""Ensemble: several trained classifiers voting as one model (predict / evaluate like a model).

    ensemble = lamina.Ensemble([model_a, model_b, model_c])            # soft voting
    ensemble.predict(x)            # (N, C) mean of the members' class probabilities
    ensemble.predict_classes(x)    # (N,) class ids
    ensemble.evaluate(x, y)        # {"loss": ..., "accuracy": ...}
"""

import numpy as np

from lamina.backend import as_float_array
from lamina.errors import ConfigError, ShapeError
from lamina.functional.checks import check_choice
from lamina.functional.labels import class_labels
from lamina.functional.activation import log_softmax_forward, softmax_forward
from lamina.layers.activation import Softmax
from lamina.layers.base import Layer
from lamina.layers.mode import inference_mode

__all__ = ["Ensemble"]


class Ensemble:
    """Combine classifiers whose outputs are (N, C) class scores, by soft or hard voting.

    models: lamina Layers (a Sequential, compiled or not, or any layer); each must output
    the same (N, C) shape. They run in eval mode, through their own predict when they have one,
    in lamina.inference_mode otherwise: predict and evaluate change no member, so threads may
    share an Ensemble (and its members) for inference.

    voting="soft" (default): mean of the members' probabilities, p = (1/M) sum_m p_m, where
    p_m = softmax(z_m) when member m outputs logits z_m, and its output as is when it
    outputs probabilities. from_logits=None decides per member: probabilities when the
    member ends in a Softmax over the classes (member.ends_in_softmax()), logits otherwise;
    True / False declares every member's output logits / probabilities.
    predict -> p (N, C); evaluate -> {"loss": mean -log p[y] (NLL of the averaged
    probabilities, by log-sum-exp over the members: exact, never clipped), "accuracy": ...}.

    voting="hard": each member votes for the argmax of its output. predict -> the vote
    fractions (N, C) (row i, class c: the share of members voting c); evaluate ->
    {"accuracy": ...}. predict_classes -> the argmax of predict in both modes: ties go to
    the lowest class id.

    >>> from lamina import layers as L
    >>> member = L.Linear(2, 2, weight_init="zeros")           # logits 0, 0
    >>> Ensemble([member, L.Softmax()]).predict(np.array([[0.0, 2.0]], np.float32)).round(4)
    array([[0.3096, 0.6904]], dtype=float32)
    """

    def __init__(self, models, voting="soft", from_logits=None):
        if not isinstance(models, (list, tuple)) or not models:
            raise ConfigError(f"Ensemble expects a non-empty list of models. Received: {models!r}")
        for i, model in enumerate(models):
            if not isinstance(model, Layer):
                raise ConfigError(f"Ensemble expects lamina models (Layers). "
                                  f"Received: models[{i}]={type(model).__name__}")
        if voting not in ("soft", "hard"):
            raise ConfigError(f"Ensemble expects voting='soft' or 'hard'. "
                              f"Received: voting={voting!r}")
        check_choice("Ensemble", "from_logits", from_logits, (None, True, False))  # None: per member
        self.models, self.voting, self.from_logits = list(models), voting, from_logits

    def _member_outputs(self, x, batch_size, logits=False):
        """Each member's (N, C) output in eval mode; with logits=True, members that end in a
        Softmax (decided per member) give the scores before it."""
        outputs = []
        for model in self.models:
            if logits and self._gives_logits(model):
                out = model.predict_logits(x, batch_size=batch_size)
            elif hasattr(model, "predict"):
                out = model.predict(x, batch_size=batch_size)
            else:
                with inference_mode():
                    out = model.forward(as_float_array(x))
            outputs.append(np.asarray(out))
        shapes = [out.shape for out in outputs]
        if outputs[0].ndim != 2 or len(set(shapes)) > 1:
            described = ", ".join(f"{model.describe()} -> {shape}"
                                  for model, shape in zip(self.models, shapes))
            raise ShapeError(f"Ensemble expects every member to output the same (N, C) class "
                             f"scores. Received: {described}")
        return outputs

    def _outputs_probabilities(self, model):
        if self.from_logits is not None:
            return not self.from_logits
        if hasattr(model, "ends_in_softmax"):
            return model.ends_in_softmax()
        return isinstance(model, Softmax) and model.axis in (1, -1)

    def predict(self, x, batch_size=256):
        """Soft: mean probabilities (N, C). Hard: vote fractions (N, C). See the class doc."""
        outputs = self._member_outputs(x, batch_size)
        if self.voting == "hard":
            N, C = outputs[0].shape
            votes = np.zeros((N, C), outputs[0].dtype)
            for out in outputs:
                votes[np.arange(N), out.argmax(axis=1)] += 1
            return votes / len(outputs)
        probabilities = [out if self._outputs_probabilities(model) else softmax_forward(out, 1)[0]
                         for model, out in zip(self.models, outputs)]
        return sum(probabilities[1:], probabilities[0]) / len(probabilities)

    def predict_classes(self, x, batch_size=256):
        """(N,) class ids: the argmax of predict (ties go to the lowest class id)."""
        return self.predict(x, batch_size).argmax(axis=1)

    def evaluate(self, x, y, batch_size=256):
        """{"loss": NLL of the mean probabilities, "accuracy": ...} (hard voting: accuracy only).

        y: class ids (N,) or (N, 1), or one-hot / probability rows (N, C); checked like a
        loss's labels (LabelError). The loss is log-sum-exp exact: log mean_m p_m =
        logsumexp_m(log p_m) - log M, with log p_m from each member's logits (a member ending
        in Softmax is read before it), so no probability is rounded to 0 and clipped.
        """
        scores = self.predict(x, batch_size)
        labels = class_labels("Ensemble.evaluate", y, scores.shape, name="the ensemble's scores")
        ids = labels.argmax(axis=1) if labels.ndim == 2 else labels
        results = {"accuracy": float(np.mean(scores.argmax(axis=1) == ids))}
        if self.voting == "soft":
            log_mean = self._log_mean_probabilities(x, batch_size)
            if labels.ndim == 2:
                picked = np.sum(np.where(labels != 0, labels * log_mean, 0.0), axis=1)
            else:
                picked = log_mean[np.arange(len(ids)), ids]
            results = {"loss": float(-np.mean(picked)), **results}
        return results

    def _log_mean_probabilities(self, x, batch_size):
        """(N, C) log of the members' mean probabilities, by log-sum-exp over the members."""
        logs = []
        for model, out in zip(self.models, self._member_outputs(x, batch_size, logits=True)):
            if self._outputs_probabilities(model) and not self._gives_logits(model):
                with np.errstate(divide="ignore"):
                    logs.append(np.log(out))  # given as probabilities: log 0 = -inf is exact
            else:
                logs.append(log_softmax_forward(out, 1)[0])
        stacked = np.stack(logs)
        top = stacked.max(axis=0)
        top = np.where(np.isfinite(top), top, 0.0)
        return top + np.log(np.mean(np.exp(stacked - top), axis=0))

    def _gives_logits(self, model):
        """Whether _member_outputs(logits=True) read this member before its final Softmax."""
        return (self.from_logits is None and hasattr(model, "_batched")
                and hasattr(model, "ends_in_softmax") and model.ends_in_softmax())

    def __repr__(self):
        return (f"Ensemble({len(self.models)} models, voting={self.voting!r}, "
                f"from_logits={self.from_logits!r})")
