"""Where does NaN or Inf first appear in a training step? Data, weights, forward, loss, backward.

    report = lamina.diagnose_nonfinite(model, x_batch, y_batch)
    print(report)    # the layer (describe()), the phase, the tensor, counts, likely causes

The batch is replayed through the model's own training step (prepare_data, run, compute_loss,
run_backward: the engine's calls), every layer call watched through lamina.layers.hooks
(inside nested Sequential, Residual, merge and Composite layers and graph Models too),
checking in order: the data itself; the weights and buffers; each layer's forward output
(the first layer whose output is non-finite while its inputs were finite); the loss and its
gradient; then backward, the first layer whose input gradient or parameter gradient becomes
non-finite while the gradient it received was finite. fit(on_nonfinite=...) calls it on the
batch that went wrong, with the random state from before that step so that Dropout draws the
same masks.
"""

import math
from dataclasses import dataclass, field

import numpy as np

from lamina import losses
from lamina.backend import as_model_input, get_rng
from lamina.errors import NonFiniteError
from lamina.layers import hooks
from lamina.layers.container import Container

__all__ = ["NonFiniteReport", "diagnose_nonfinite", "count_nonfinite"]

# Activations and inputs beyond this size are called "exploding": float32 overflows near
# 3.4e38, and a few layers of products take values of this size there.
EXPLODING = 1e6


def count_nonfinite(array):
    """(NaN count, +Inf count, -Inf count) of an array.

    >>> count_nonfinite(np.array([np.nan, np.inf, -np.inf, 1.0, np.nan]))
    (2, 1, 1)
    """
    array = np.asarray(array)
    if array.dtype.kind not in "fc":
        return 0, 0, 0
    return (int(np.count_nonzero(np.isnan(array))), int(np.count_nonzero(array == np.inf)),
            int(np.count_nonzero(array == -np.inf)))


def _finite(value):
    """True when value (an array, a number, or a tuple/list of them) holds no NaN or Inf."""
    if isinstance(value, (tuple, list)):
        return all(_finite(item) for item in value)
    array = np.asarray(value)
    return array.dtype.kind not in "fc" or bool(np.isfinite(array).all())


def _max_abs(value):
    """Largest finite |value| (0.0 for an empty array or no finite value), as a float."""
    if isinstance(value, (tuple, list)):
        return max((_max_abs(item) for item in value), default=0.0)
    array = np.asarray(value)
    if array.dtype.kind not in "fc" or array.size == 0:
        return 0.0
    finite = np.abs(array[np.isfinite(array)])
    return float(finite.max()) if finite.size else 0.0


@dataclass
class NonFiniteReport:
    """What diagnose_nonfinite found; str(report) is the readable diagnosis.

    phase: "data", "weights", "forward", "loss", "backward", or None when the replay stayed
    finite. layer: the layer's describe() ("Linear 'linear_1' (layer 2)"), or None for the
    data and the loss; within: its containers, outermost first. tensor: "x", "y", "output",
    "d_input", "<parameter>.grad", a parameter or buffer name, "loss" or "d_loss/d_outputs".
    nan / posinf / neginf / size: the counts in that tensor. input_max_abs: the largest
    finite |value| the layer received (its input in forward, its output gradient in backward).
    causes: likely causes, each with a fix. epoch / step / action: set by fit.
    """

    phase: str = None
    layer: str = None
    within: list = field(default_factory=list)
    tensor: str = None
    nan: int = 0
    posinf: int = 0
    neginf: int = 0
    size: int = 0
    input_max_abs: float = None
    causes: list = field(default_factory=list)
    epoch: int = None
    step: int = None
    action: str = None

    @property
    def found(self):
        return self.phase is not None

    def where(self):
        """The layer and the model holding it, "Linear 'linear_1' (layer 2) of Sequential
        'mlp'", or what the phase is about ("the input data", "the loss")."""
        if self.layer is None:
            return {"data": "the input data", "loss": "the loss"}.get(self.phase, "the model")
        return f"{self.layer} of {self.within[0]}" if self.within else self.layer

    def summary(self):
        """One line: what went non-finite where."""
        if not self.found:
            return "the replayed step stayed finite"
        counts = ", ".join(f"{count} {name}" for count, name in
                           ((self.nan, "NaN"), (self.posinf, "+Inf"), (self.neginf, "-Inf"))
                           if count) or "non-finite values"
        subject = {"data": f"the data ({self.tensor})",
                   "weights": f"the {self.tensor} of {self.where()}",
                   "forward": f"the forward output of {self.where()}",
                   "loss": "the loss" if self.tensor == "loss" else
                           f"the loss gradient {self.tensor}",
                   "backward": f"the backward {self.tensor} of {self.where()}"}[self.phase]
        of = f" of {self.size}" if self.size > 1 else ""
        received = ""
        if self.input_max_abs is not None and self.phase in ("forward", "backward", "loss"):
            what = {"forward": "its input", "backward": "the gradient it received",
                    "loss": "the model's outputs"}[self.phase]
            received = f" ({what}: finite, max |value| {self.input_max_abs:.3g})"
        return f"{subject} holds {counts}{of}{received}"

    def __str__(self):
        at = "" if self.epoch is None else f" at epoch {self.epoch + 1}, step {self.step + 1}"
        lines = [f"Non-finite values{at}: {self.summary()}." if self.found else
                 f"No NaN or Inf found replaying the step{at}: it stayed finite."]
        if self.causes:
            lines.append("Likely causes:")
            lines += [f"  - {cause}" for cause in self.causes]
        return "\n".join(lines)


# -- walking the model ------------------------------------------------------------------------
def _walk(layer, within=()):
    """(layer, its containers outermost first) for every layer, parents before children."""
    yield layer, list(within)
    if isinstance(layer, Container):
        for child in layer.layers:
            yield from _walk(child, (*within, layer.describe()))


def _floating_arrays(value):
    """The floating-point arrays in value (an array, or nested tuples / lists of them)."""
    if isinstance(value, (tuple, list)):
        return [array for item in value for array in _floating_arrays(item)]
    array = np.asarray(value)
    return [array] if array.dtype.kind in "fc" else []


class _Finder:
    """Watches every layer call of the replay (lamina.layers.hooks) for the first one whose
    result goes non-finite while what it received was finite.

    A child's call ends before its parent's, so the innermost layer responsible is found
    first; a container is reported itself only when its own arithmetic (a residual sum, a
    merge) does it. Only the model's layers (its containers' children, walked) are named: a
    layer a layer keeps for itself is reported as the layer that keeps it.
    """

    def __init__(self, model):
        self.model, self.finding = model, None
        self.within = {id(layer): within for layer, within in _walk(model)}

    def found(self, phase, layer, tensor, value, received):
        if self.finding is None:
            self.finding = _report(self.model, phase, layer, self.within[id(layer)], tensor,
                                   value, received)

    def forward(self, layer, inputs, output):
        if self.finding is None and id(layer) in self.within and not _finite(output) \
                and _finite(inputs):
            self.found("forward", layer, "output", output, inputs)

    def backward(self, layer, douts, dinputs):
        if self.finding is not None or id(layer) not in self.within or not _finite(douts):
            return
        if dinputs is not None and not _finite(dinputs):
            self.found("backward", layer, "d_input", dinputs, douts)
            return
        if isinstance(layer, Container):  # its children's gradients are theirs
            return
        for name, p in layer.named_parameters():  # a frozen one's grad goes unused
            # grads start at zero and the first finding ends the search, so a non-finite
            # grad now is this call's doing
            if p.trainable and p.grad is not None and not _finite(p.grad):
                self.found("backward", layer, f"{name}.grad", p.grad, douts)
                return

    def raised(self, phase, error):
        """A NonFiniteError raised inside a layer call: the innermost of the model's layers
        that it came through (error.layer, or the one holding it)."""
        layer = getattr(error, "layer", None)
        while layer is not None and id(layer) not in self.within:
            layer = getattr(layer, "parent", None)
        if layer is not None:
            self.found(phase, layer, "output" if phase == "forward" else "d_input", np.nan, None)


# -- the diagnosis ----------------------------------------------------------------------------
def diagnose_nonfinite(model, x, y=None, *, rng_state=None, training=True):
    """Replay one training step on (x, y) and report where NaN or Inf first appears.

    model: a lamina Layer; a compiled model (Sequential or Model) also gets its loss and
    backward pass replayed (y required for those), exactly as its training step runs them.
    x, y: as fit takes them (for several inputs or outputs, lists in order or dicts by
    name). rng_state: lamina's generator state (``lamina.backend.rng_state()``) from before
    the step, so Dropout replays the same masks; None replays from the current state.
    training: replay in training mode (as fit does) or not. Returns a NonFiniteReport
    (``report.found`` is False when everything stayed finite). The weights, buffers, training
    mode and random state are left as they were; the parameters' gradients hold the replay's.

    >>> import lamina
    >>> model = lamina.Sequential([lamina.layers.Linear(2, 1)])
    >>> report = diagnose_nonfinite(model, np.array([[1.0, np.nan]], np.float32))
    >>> report.phase, report.tensor, report.nan
    ('data', 'x', 1)
    """
    trains = y is not None and bool(getattr(model, "compiled_losses", ()))
    report = _check_data(model, x, y) or _check_weights(model)
    if report is not None:
        return report
    if hasattr(model, "prepare_data"):
        xs, ys = model.prepare_data(x, y if trains else None, "diagnose_nonfinite")
    else:  # a bare layer: its forward alone
        xs, ys = [as_model_input(x, getattr(model, "dtype", None),
                                 getattr(model, "takes_indices", False))], None
    rng = get_rng()
    entry_state = rng.bit_generator.state
    buffers = {name: np.array(value, copy=True) for name, value in model.buffers().items()}
    modes = [(layer, layer.training) for layer, _ in _walk(model)]
    model.train(training)
    if rng_state is not None:
        rng.bit_generator.state = rng_state
    finder = _Finder(model)
    try:
        with np.errstate(all="ignore"), \
                hooks.observe(on_forward=finder.forward, on_backward=finder.backward):
            _replay(model, xs, ys if trains else None, finder)
    finally:
        rng.bit_generator.state = entry_state
        for name, value in buffers.items():
            model.set_buffer(name, value)
        for layer, mode in modes:  # each as it was: a frozen BatchNorm stays in eval mode
            layer.training = mode
    return finder.finding or NonFiniteReport(causes=[
        "The replay of this batch stayed finite, so the step did not repeat: a layer that draws "
        "random numbers outside lamina's generator (lamina.seed), or state that changed since."])


def _replay(model, xs, ys, finder):
    """The forward / loss / backward of the training step (Trainable.compute_loss_and_
    gradients, on the same engine calls), stopping at the first finding. ys None: forward
    only (an uncompiled model, no targets, or a bare layer)."""
    try:
        if not hasattr(model, "run"):
            model.forward(xs[0])
            return
        fused = model.fused_outputs() if ys is not None else ()
        outputs = model.run(xs, fused)
    except NonFiniteError as error:
        finder.raised("forward", error)
        return
    if ys is None or finder.finding is not None:
        return
    try:
        loss, _, douts = model.compute_loss(ys, outputs, fused)
    except NonFiniteError:
        loss, douts = math.nan, [None]
    received = outputs[0] if len(outputs) == 1 else outputs
    for tensor, value in (("loss", loss), ("d_loss/d_outputs", [d for d in douts if d is not None])):
        if value is not None and not _finite(value):
            finder.finding = _report(model, "loss", None, [], tensor, value, received)
            return
    model.zero_grad()
    try:
        model.run_backward(douts, input_grad=False)
    except NonFiniteError as error:
        finder.raised("backward", error)
        return
    if finder.finding is not None:
        return
    for layer, within in _walk(model):
        if isinstance(layer, Container):
            continue
        for name, p in layer.named_parameters():
            if p.regularizer is not None and p.trainable:
                penalty = p.regularizer.gradient(p.data)
                if not _finite(penalty):
                    finder.finding = _report(model, "backward", layer, within,
                                             f"{name}.grad (weight penalty)", penalty, p.data)
                    return


def _check_data(model, x, y):
    """A report on the first input or target holding NaN or Inf ("x", or "x['image']" for
    one of several inputs; "y", "y['digit']"), or None. y counts as the model takes it."""
    where = "diagnose_nonfinite"
    xs = model.input_list(where, x) if hasattr(model, "input_list") else [x]
    named = _named("x", xs, getattr(model, "input_names", ()))
    if y is not None:
        entries = getattr(model, "compiled_losses", ())
        named += _named("y", model.target_list(where, y) if entries else [y],
                        [entry.name for entry in entries])
    for name, value in named:
        if not _finite(value):
            return _report(None, "data", None, [], name, value, None)
    return None


def _named(what, arrays, names):
    """[(tensor name, array)]: `what` for one array, "what['name']" for each of several."""
    if len(arrays) == 1:
        return [(what, arrays[0])]
    return [(f"{what}[{name!r}]", array) for name, array in zip(names, arrays)]


def _check_weights(model):
    for layer, within in _walk(model):
        if isinstance(layer, Container):
            continue
        arrays = [(name, p.data) for name, p in layer.named_parameters()]
        arrays += list(layer.buffers().items())
        for name, value in arrays:
            if not _finite(value):
                return _report(model, "weights", layer, within, name, value, None)
    return None


def _report(model, phase, layer, within, tensor, value, received):
    """The report of `value` (an array, or nested tuples / lists of them: counted together)."""
    arrays = _floating_arrays(value)
    nan, posinf, neginf = (sum(counts) for counts in
                           zip((0, 0, 0), *(count_nonfinite(array) for array in arrays)))
    report = NonFiniteReport(phase=phase, layer=None if layer is None else layer.describe(),
                             within=list(within), tensor=tensor, nan=nan, posinf=posinf,
                             neginf=neginf, size=sum(array.size for array in arrays),
                             input_max_abs=None if received is None else _max_abs(received))
    report.causes = _causes(report, model, layer)
    return report


# -- likely causes ------------------------------------------------------------------------------
_EXP_LAYERS = ("Sigmoid", "Softmax", "LogSoftmax", "ELU", "SELU", "SiLU", "Softplus", "GELU",
               "Tanh")


def _lr_hint(model):
    optimizer = getattr(model, "optimizer", None)
    return f" (lr={optimizer.lr:g})" if optimizer is not None else ""


def _causes(report, model, layer):
    """Likely causes of the finding, most likely first, each with its fix."""
    kind = type(layer).__name__ if layer is not None else ""
    big = report.input_max_abs is not None and report.input_max_abs > EXPLODING
    weights_big = layer is not None and any(_max_abs(p.data) > EXPLODING
                                            for p in layer.parameters())
    lr = _lr_hint(model)
    exploding = (f"learning rate too high{lr}: weights and activations grow until they overflow "
                 f"(max |value| received {report.input_max_abs:.3g}). Lower the learning rate, "
                 f"clip gradients (optimizer clipnorm= or global_clipnorm=), or normalise "
                 f"(BatchNorm) and standardise the inputs" if report.input_max_abs is not None
                 else "")
    if report.phase == "data":
        subject = report.tensor if report.tensor.startswith("x") else f"the labels {report.tensor}"
        return [f"bad input data: {subject} already holds NaN/Inf before any layer runs (missing "
                f"values, a division by a zero standard deviation while normalising). Check "
                f"np.isfinite({report.tensor}).all() and clean or drop those rows"]
    if report.phase == "weights":
        return [f"a previous optimizer step overflowed the weights: learning rate too high{lr} "
                f"(lower it, or clip gradients with clipnorm= / global_clipnorm=)",
                "weights loaded with set_weights / load_state_dict / load_model already held "
                "NaN or Inf"]
    causes = []
    if report.phase == "forward":
        if big or weights_big:
            causes.append(exploding)
        if kind.startswith(("BatchNorm", "LayerNorm", "GroupNorm", "InstanceNorm")):
            causes.append("division by ~0: a normalisation over values with ~zero variance "
                          "(constant features, a batch of one): raise eps")
        if kind in _EXP_LAYERS or report.posinf or report.neginf:
            causes.append("overflow in exp (or a division by ~0): keep logits unsquashed and let "
                          "the loss take them (from_logits=True, BCEWithLogits), or lower the "
                          "learning rate")
        if report.nan:
            causes.append(f"an invalid operation in the forward of {report.layer}: log or sqrt "
                          f"of a negative number, 0/0, inf - inf or 0 * inf (for a log of "
                          f"probabilities, clip them away from 0 or work with logits)")
    elif report.phase == "loss":
        loss = getattr(model, "loss", None)
        if big:
            causes.append(exploding)
        name = type(loss).__name__
        if isinstance(loss, (losses.MSE, losses.L1, losses.SmoothL1, losses.Huber)):
            if not big:
                causes.append(f"overflow inside {name}: outputs or targets too large for their "
                              f"dtype (standardise the targets, lower the learning rate)")
        elif not (isinstance(loss, losses.BCEWithLogits) or
                  (isinstance(loss, losses.CrossEntropy) and loss.from_logits)):
            causes.append(f"log of zero or of a negative number in {name}: a loss on "
                          f"probabilities received an exact 0 or 1, or a negative value. Give "
                          f"the loss logits instead (CrossEntropy(from_logits=True), "
                          f"BCEWithLogits), or clip the probabilities away from 0 and 1")
        if getattr(loss, "ignore_index", None) is not None and report.nan:
            causes.append("every label in the batch is ignore_index, so the mean divides by zero")
    elif report.phase == "backward":
        if big or weights_big or "penalty" in report.tensor:
            causes.append(exploding.replace("activations", "gradients"))
        causes.append(f"an infinite derivative in the backward of {report.layer}: sqrt or log "
                      f"at 0, a division by ~0 (a normalisation with ~zero variance: raise eps)")
        if not big:
            causes.append("exploding gradients: clip them (clipnorm=1.0 or global_clipnorm=1.0) "
                          "or lower the learning rate")
    return causes
