"""Loss objects for models: ``loss, dpred = loss_obj(pred, y[, sample_weight])``.

Each object names itself and describes itself with ``get_config()`` (keys are exactly the
constructor's arguments, JSON-ready); the math lives in ``lamina.functional.loss`` (one
module per family), written once. ``get`` finds a loss by name:
``model.compile(loss="bce_with_logits")``.
"""

import copy
import functools
import inspect

import numpy as np

from lamina.errors import ConfigError, ShapeError
from lamina.functional import loss as loss_kernels
from lamina.functional.checks import check_bool
from lamina.functional.loss.checks import REDUCTIONS, check_reduction
from lamina.functional.loss.class_targets import check_class_options
from lamina.functional.loss.divergence import KL_REDUCTIONS, check_kl_target
from lamina.functional.loss.elementwise import elementwise_target
from lamina.functional.checks import check_number
from lamina.functional.labels import class_labels
from lamina.functional.loss.reduce import reduce_weighted
from lamina.sample_weights import check_sample_weight

__all__ = ["Loss", "CrossEntropy", "NLL", "Hinge", "BCE", "BCEWithLogits", "MSE", "L1",
           "SmoothL1", "Huber", "KLDiv", "get", "takes_sample_weight", "call_loss"]


class Loss:
    """Base class: a callable ``(pred, y, sample_weight=None) -> (loss, dpred)`` with a name
    and a config.

    A subclass sets `kernel` to a function of lamina.functional.loss (or overrides
    kernel_call); its constructor arguments are the kernel's keyword arguments and are kept
    as attributes of the same name. With reduction="none" the loss is the kernel's array
    (PyTorch's shape) and dpred the gradient of its sum.
    """

    name = "loss"
    kernel = None
    elementwise = False   # the kernel takes a target of the output's shape
    unit_targets = False  # ... whose values lie in [0, 1]

    def __call__(self, pred, y, sample_weight=None):
        """(loss, dpred); sample_weight: None, or one weight >= 0 per sample (N,).

        Weighted, the loss is sum_i w_i l_i / N (Keras), l_i the sample's loss: the mean
        over its elements for elementwise losses, over its positions for class scores
        (N, C, d1, ...), with the loss's own weight= and ignore_index scaling it as in
        reduction="none" (see functional.loss.reduce.reduce_weighted). reduction="sum" drops
        the 1/N, "none" returns w_i times each of the sample's losses; dpred follows.
        """
        kernel, options = self.kernel_call()
        if sample_weight is None:
            return kernel(pred, y, **options)
        reduction = options.pop("reduction", "mean")
        losses, grad = kernel(pred, y, **options, reduction="none")
        weights = check_sample_weight(type(self).__name__, sample_weight, len(losses))
        return reduce_weighted(losses, grad, weights, reduction)

    def kernel_call(self):
        """(kernel, keyword arguments) this loss calls: its `kernel` with its options."""
        if self.kernel is None:
            raise NotImplementedError(f"{type(self).__name__}.__call__")
        return type(self).kernel, self._kernel_options()

    def check_targets(self, y, output_shape):
        """Check every target at once against a model's output shape (N, ...), as each batch's
        call would: a model checks fit's and evaluate's labels before its first step. Losses
        whose kernel takes a target of the output's shape check it here; others accept all."""
        if self.elementwise:
            elementwise_target(type(self).__name__, y, output_shape, None,
                               "the model's outputs", self.unit_targets)

    def _kernel_options(self):
        return {arg: getattr(self, arg) for arg in self._arguments()}

    @classmethod
    @functools.lru_cache(maxsize=None)  # once per class: a loss reads them on every call
    def _arguments(cls):
        return tuple(name for name, p in inspect.signature(cls.__init__).parameters.items()
                     if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))

    def get_config(self):
        config = {}
        for arg, value in self._kernel_options().items():
            config[arg] = value.tolist() if isinstance(value, np.ndarray) else value
        return config

    def __repr__(self):
        args = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({args})"

    def _check_reduction(self, reduction, allowed=REDUCTIONS):
        return check_reduction(type(self).__name__, reduction, allowed)


def _check_class_targets(loss, y, output_shape, rows_allowed, ignore_index=None):
    """Class labels against a model's (N, C) outputs, named after the loss."""
    name = type(loss).__name__
    y = np.asarray(y)
    if ignore_index is not None and len(output_shape) > 2 and y.shape == (output_shape[0],) + tuple(output_shape[2:]):
        # (N, C, d1, ...) scores with (N, d1, ...) ids: one label per position, as PyTorch
        y, output_shape = y.reshape(-1), (y.size, output_shape[1])
    if len(output_shape) != 2:
        per_position = " or (N, C, d1, ...) with labels (N, d1, ...)" if ignore_index is not None else ""
        raise ShapeError(f"{name} expects the model to output class scores (N, C){per_position}. "
                         f"Received: output shape {tuple(output_shape)}")
    class_labels(name, y, output_shape, "the model's outputs", rows_allowed, ignore_index)


def _as_array(weight):
    return None if weight is None else np.asarray(weight, dtype=np.float64)


class CrossEntropy(Loss):
    """Categorical cross-entropy; labels are class ids (N,) or one-hot / probability rows (N, C).

    from_logits=True (default): pred are logits, see functional.softmax_cross_entropy
    (log-sum-exp, exact for any finite logits). from_logits=False: pred are probabilities,
    e.g. after a Softmax layer, see functional.cross_entropy_from_probs (clipped at 1e-12
    only to keep log(0) away). weight (C,), label_smoothing, ignore_index and reduction are
    PyTorch's: the weighted mean divides by the summed weights of the target classes.

    >>> loss, dlogits = CrossEntropy(label_smoothing=0.1)(np.array([[2.0, 0.0]]), [0])
    >>> round(loss, 6)
    0.226928
    """

    name = "cross_entropy"

    def __init__(self, from_logits=True, weight=None, label_smoothing=0.0, ignore_index=-100,
                 reduction="mean"):
        self.from_logits = check_bool("CrossEntropy", "from_logits", from_logits)
        self.weight, self.label_smoothing, self.ignore_index = check_class_options(
            "CrossEntropy", weight, label_smoothing, ignore_index)
        self.weight = _as_array(self.weight)
        self.reduction = self._check_reduction(reduction)

    def kernel_call(self):
        options = self._kernel_options()
        kernel = loss_kernels.softmax_cross_entropy if options.pop("from_logits") \
            else loss_kernels.cross_entropy_from_probs
        return kernel, options

    def check_targets(self, y, output_shape):
        _check_class_targets(self, y, output_shape, "any", self.ignore_index)

    def on_logits(self):
        """This loss taking logits (itself when from_logits=True): how a model ending in a
        Softmax layer trains, fusing that softmax into the loss so that no probability is
        ever rounded to 0 and clipped (the loss stays exact for any finite logits)."""
        if self.from_logits:
            return self
        twin = copy.copy(self)
        twin.from_logits = True
        return twin


class NLL(Loss):
    """Negative log-likelihood of log-probabilities (pair with a LogSoftmax layer); class ids.

    See functional.nll_loss. weight (C,) and ignore_index as PyTorch's NLLLoss.

    >>> round(NLL()(np.log(np.array([[0.5, 0.5]])), [1])[0], 6)
    0.693147
    """

    name = "nll"
    kernel = staticmethod(loss_kernels.nll_loss)

    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        weight, _, self.ignore_index = check_class_options(
            "NLL", weight, 0.0, ignore_index)
        self.weight = _as_array(weight)
        self.reduction = self._check_reduction(reduction)

    def check_targets(self, y, output_shape):
        _check_class_targets(self, y, output_shape, "one-hot", self.ignore_index)


class Hinge(Loss):
    """Multiclass SVM loss, margin 1; see functional.hinge_loss."""

    name = "hinge"
    kernel = staticmethod(loss_kernels.hinge_loss)

    def __init__(self, reduction="mean"):
        self.reduction = self._check_reduction(reduction)

    def check_targets(self, y, output_shape):
        _check_class_targets(self, y, output_shape, "one-hot")


class BCE(Loss):
    """Binary cross-entropy on probabilities (after a Sigmoid), PyTorch's BCELoss.

    Targets in [0, 1] of pred's shape (or (N,) for pred (N, 1)); weight rescales elements.
    See functional.binary_cross_entropy; prefer BCEWithLogits, which is exact.
    """

    name = "binary_cross_entropy"
    kernel = staticmethod(loss_kernels.binary_cross_entropy)
    elementwise = unit_targets = True

    def __init__(self, weight=None, reduction="mean"):
        self.weight = _as_array(weight)
        self.reduction = self._check_reduction(reduction)


class BCEWithLogits(Loss):
    """Binary cross-entropy on logits (no Sigmoid layer), PyTorch's BCEWithLogitsLoss.

    weight rescales elements; pos_weight (e.g. one per output column) weighs the positives.
    See functional.binary_cross_entropy_with_logits.

    >>> round(BCEWithLogits()(np.array([[0.0], [3.0]]), np.array([1, 1]))[0], 6)
    0.370867
    """

    name = "binary_cross_entropy_with_logits"
    kernel = staticmethod(loss_kernels.binary_cross_entropy_with_logits)
    elementwise = unit_targets = True

    def __init__(self, weight=None, pos_weight=None, reduction="mean"):
        self.weight, self.pos_weight = _as_array(weight), _as_array(pos_weight)
        self.reduction = self._check_reduction(reduction)


class MSE(Loss):
    """Mean squared error over all elements; see functional.mse_loss."""

    name = "mse"
    kernel = staticmethod(loss_kernels.mse_loss)
    elementwise = True

    def __init__(self, reduction="mean"):
        self.reduction = self._check_reduction(reduction)


class L1(Loss):
    """Mean absolute error over all elements; see functional.l1_loss."""

    name = "l1"
    kernel = staticmethod(loss_kernels.l1_loss)
    elementwise = True

    def __init__(self, reduction="mean"):
        self.reduction = self._check_reduction(reduction)


class SmoothL1(Loss):
    """Smooth L1 (quadratic below beta, slope 1 beyond), PyTorch's SmoothL1Loss."""

    name = "smooth_l1"
    kernel = staticmethod(loss_kernels.smooth_l1_loss)
    elementwise = True

    def __init__(self, beta=1.0, reduction="mean"):
        self.beta = check_number("SmoothL1", "beta", beta, lambda value: value >= 0,
                                 "a finite number >= 0")
        self.reduction = self._check_reduction(reduction)


class Huber(Loss):
    """Huber loss (quadratic below delta, slope delta beyond), PyTorch's HuberLoss."""

    name = "huber"
    kernel = staticmethod(loss_kernels.huber_loss)
    elementwise = True

    def __init__(self, delta=1.0, reduction="mean"):
        self.delta = check_number("Huber", "delta", delta, lambda value: value > 0,
                                  "a finite number > 0")
        self.reduction = self._check_reduction(reduction)


class KLDiv(Loss):
    """KL(target || pred) with pred as log-probabilities (pair with LogSoftmax), KLDivLoss.

    Default reduction "batchmean" (the KL divergence per sample), not PyTorch's "mean";
    see functional.kl_div_loss. Weighted per sample, "batchmean" is sum_i w_i KL_i / N.
    """

    name = "kl_div"
    kernel = staticmethod(loss_kernels.kl_div_loss)

    def __init__(self, log_target=False, reduction="batchmean"):
        self.log_target = check_bool("KLDiv", "log_target", log_target)
        self.reduction = self._check_reduction(reduction, KL_REDUCTIONS)

    def check_targets(self, y, output_shape):
        target = elementwise_target("KLDiv", y, output_shape, None, "the model's outputs")
        if not self.log_target:
            check_kl_target("KLDiv", target)


_ALIASES = {
    "cross_entropy": CrossEntropy,
    "categorical_crossentropy": CrossEntropy,
    "sparse_categorical_crossentropy": CrossEntropy,
    "softmax_cross_entropy": CrossEntropy,
    "nll": NLL,
    "nll_loss": NLL,
    "hinge": Hinge,
    "binary_cross_entropy": BCE,
    "binary_crossentropy": BCE,
    "bce": BCE,
    "binary_cross_entropy_with_logits": BCEWithLogits,
    "bce_with_logits": BCEWithLogits,
    "mse": MSE,
    "mean_squared_error": MSE,
    "l1": L1,
    "mae": L1,
    "mean_absolute_error": L1,
    "smooth_l1": SmoothL1,
    "huber": Huber,
    "kl_div": KLDiv,
    "kl_divergence": KLDiv,
    "kld": KLDiv,
}


def get(identifier):
    """A loss from a name ('cross_entropy', 'bce_with_logits', 'huber', ... and aliases), a Loss,
    or a callable.

    A Loss instance or any other callable ``(pred, y) -> (loss, dpred)`` comes back as is;
    a Loss subclass is instantiated with its defaults; names are case-insensitive.

    >>> get("BCE_with_logits"), get("mae")
    (BCEWithLogits(weight=None, pos_weight=None, reduction='mean'), L1(reduction='mean'))
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


def takes_sample_weight(loss_fn):
    """Whether loss_fn(pred, y, sample_weight=w) is a call it takes: a Loss, or a callable
    with a sample_weight parameter (or **kwargs)."""
    if isinstance(loss_fn, Loss) and type(loss_fn).__call__ is Loss.__call__:
        return True
    try:
        parameters = inspect.signature(loss_fn).parameters.values()
    except (TypeError, ValueError):  # no signature to read (a builtin): say no
        return False
    return any(p.name == "sample_weight" or p.kind is p.VAR_KEYWORD for p in parameters)


def call_loss(where, loss_fn, pred, y, sample_weight=None):
    """loss_fn(pred, y), weighted per sample when sample_weight is not None; a ConfigError
    naming `where` when loss_fn cannot take sample weights."""
    if sample_weight is None:
        return loss_fn(pred, y)
    if not takes_sample_weight(loss_fn):
        raise ConfigError(f"{where} expects a loss that takes sample_weight (a lamina.losses "
                          f"Loss, or a callable (pred, y, sample_weight=None) -> (loss, dpred)) "
                          f"when sample weights are given. Received: loss={loss_fn!r}")
    return loss_fn(pred, y, sample_weight=sample_weight)
