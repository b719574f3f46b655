"""Ensemble: several trained classifiers voting as one model (predict / evaluate like a model).

    ensemble = lamina.Ensemble([model_a, model_b, model_c])            # soft voting
    ensemble.predict(x)            # (N, C) mean of the members' class probabilities
    ensemble.predict_classes(x)    # (N,) class ids
    ensemble.evaluate(x, y)        # {"loss": ..., "accuracy": ...}
"""

import numpy as np

from lamina.backend import as_float_array
from lamina.errors import ConfigError, ShapeError
from lamina.functional.activation import softmax_forward
from lamina.functional.loss import cross_entropy_from_probs
from lamina.layers.activation import Softmax
from lamina.layers.base import Layer

__all__ = ["Ensemble"]


class Ensemble:
    """Combine classifiers whose outputs are (N, C) class scores, by soft or hard voting.

    models: lamina Layers (a Sequential, compiled or not, or any layer); each must output
    the same (N, C) shape. They run in eval mode, through their own predict when they have one.

    voting="soft" (default): mean of the members' probabilities, p = (1/M) sum_m p_m, where
    p_m = softmax(z_m) when member m outputs logits z_m, and its output as is when it
    outputs probabilities. from_logits=None decides per member: probabilities when the
    member ends in a Softmax over the classes (member.ends_in_softmax()), logits otherwise;
    True / False declares every member's output logits / probabilities.
    predict -> p (N, C); evaluate -> {"loss": mean -log p[y] (NLL of the averaged
    probabilities, clipped at 1e-12), "accuracy": ...}.

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
        if from_logits is not None and not isinstance(from_logits, bool):
            raise ConfigError(f"Ensemble expects from_logits as None (decided per member), True "
                              f"or False. Received: from_logits={from_logits!r}")
        self.models, self.voting, self.from_logits = list(models), voting, from_logits

    def _member_outputs(self, x, batch_size):
        outputs = []
        for model in self.models:
            if hasattr(model, "predict"):
                out = model.predict(x, batch_size=batch_size)
            else:
                was_training = model.training
                model.eval()
                try:
                    out = model.forward(as_float_array(x))
                finally:
                    model.train(was_training)
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

        y: class ids (N,) or (N, 1), or one-hot rows (N, C).
        """
        scores = self.predict(x, batch_size)
        y = np.asarray(y)
        N, C = scores.shape
        ids = y[:, 0] if y.shape == (N, 1) and C > 1 else y
        ids = ids.argmax(axis=1) if ids.ndim == 2 else ids
        if ids.shape != (N,):
            raise ShapeError(f"Ensemble.evaluate expects {N} labels (class ids or one-hot rows) "
                             f"for {N} inputs. Received: y.shape={y.shape}")
        results = {"accuracy": float(np.mean(scores.argmax(axis=1) == ids))}
        if self.voting == "soft":
            results = {"loss": cross_entropy_from_probs(scores, y)[0], **results}
        return results

    def __repr__(self):
        return (f"Ensemble({len(self.models)} models, voting={self.voting!r}, "
                f"from_logits={self.from_logits!r})")
