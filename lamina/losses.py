"""Loss objects for models: ``loss, dpred = loss_obj(pred, y)``.

Each object names itself and describes itself with ``get_config()`` (keys are exactly the
constructor's arguments); the math lives in ``lamina.functional.loss``, written once.
"""

from lamina.errors import ConfigError
from lamina.functional import loss as loss_kernels

__all__ = ["Loss", "CrossEntropy", "Hinge", "MSE", "get"]


class Loss:
    """Base class: a callable ``(pred, y) -> (loss: float, dpred)`` with a name and a config."""

    name = "loss"

    def __call__(self, pred, y):
        raise NotImplementedError

    def get_config(self):
        return {}

    def __repr__(self):
        args = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({args})"


class CrossEntropy(Loss):
    """Categorical cross-entropy; labels are class ids (N,) or one-hot / probability rows (N, C).

    from_logits=True (default): pred are logits, see functional.softmax_cross_entropy
    (log-sum-exp, exact for any finite logits). from_logits=False: pred are probabilities,
    e.g. after a Softmax layer, see functional.cross_entropy_from_probs (clipped at 1e-12
    only to keep log(0) away).
    """

    name = "cross_entropy"

    def __init__(self, from_logits=True):
        if not isinstance(from_logits, bool):
            raise ConfigError(f"CrossEntropy expects from_logits as a bool. "
                              f"Received: from_logits={from_logits!r}")
        self.from_logits = from_logits

    def __call__(self, pred, y):
        if self.from_logits:
            return loss_kernels.softmax_cross_entropy(pred, y)
        return loss_kernels.cross_entropy_from_probs(pred, y)

    def get_config(self):
        return {"from_logits": self.from_logits}


class Hinge(Loss):
    """Multiclass SVM loss, margin 1; see functional.hinge_loss."""

    name = "hinge"

    def __call__(self, pred, y):
        return loss_kernels.hinge_loss(pred, y)


class MSE(Loss):
    """Mean squared error over all elements; see functional.mse_loss."""

    name = "mse"

    def __call__(self, pred, y):
        return loss_kernels.mse_loss(pred, y)


_ALIASES = {
    "cross_entropy": CrossEntropy,
    "categorical_crossentropy": CrossEntropy,
    "sparse_categorical_crossentropy": CrossEntropy,
    "softmax_cross_entropy": CrossEntropy,
    "hinge": Hinge,
    "mse": MSE,
    "mean_squared_error": MSE,
}


def get(identifier):
    """A loss from a name ('cross_entropy', 'hinge', 'mse' and aliases), a Loss, or a callable.

    A Loss instance or any other callable ``(pred, y) -> (loss, dpred)`` comes back as is;
    a Loss subclass is instantiated with its defaults; names are case-insensitive.
    """
    if isinstance(identifier, str):
        cls = _ALIASES.get(identifier.strip().lower())
        if cls is not None:
            return cls()
    elif isinstance(identifier, type):
        if issubclass(identifier, Loss) and identifier is not Loss:
            return identifier()
    elif callable(identifier):
        return identifier
    raise ConfigError(f"Unknown loss. Expected one of {sorted(_ALIASES)}, a Loss instance or "
                      f"a callable (pred, y) -> (loss, dpred). Received: {identifier!r}")
