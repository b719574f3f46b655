"""compile: each output's loss, weight and metrics (OutputLoss), the one decision of which
outputs' softmax a cross-entropy loss takes fused (Compiling.fused_outputs), and the compiled
metric objects' life (reset_metrics, update_metrics, metric_results, metric_states; the
metrics see probabilities where the loss takes logits: metric_outputs).

A mixin of lamina.training.Trainable: the model supplies output_names and program (the
engine's Program, whose fusable(position) says whether a softmax makes that output).
"""

from lamina import losses as losses_module
from lamina import metrics as metrics_module
from lamina import optim as optim_module
from lamina.errors import ConfigError
from lamina.functional.activation import softmax_forward
from lamina.functional.checks import check_real

__all__ = ["Compiling", "OutputLoss", "update_metric_lists", "metric_list_results"]


def _named_setting(where, name, value, get):
    """get(value) (a loss, optimizer or metric from its name or instance), its ConfigError
    retold with the method and the argument it came from."""
    try:
        return get(value)
    except ConfigError as error:
        raise ConfigError(f"{where}({name}={value!r}): {error}") from None


class OutputLoss:
    """What compile gives one output: its position and name, its loss and weight, and its
    metrics as (log name, lamina.metrics.Metric) pairs, objects of this output alone (a
    name gives a new one, a Metric instance is copied without its state, a callable is
    wrapped as a batch-size-weighted mean: lamina.metrics.metric)."""

    __slots__ = ("position", "name", "loss", "weight", "metrics")

    def __init__(self, position, name, loss, weight, metrics):
        self.position, self.name, self.loss = position, name, loss
        self.weight, self.metrics = weight, metrics


def _per_output(where, what, value, names, allow_missing=True):
    """A compile argument given per output (a dict by output name, or a list in output
    order; metrics: a list of lists) as {output name: value}; anything else applies to
    every output."""
    if isinstance(value, dict):
        unknown = [key for key in value if key not in names]
        if unknown:
            raise ConfigError(f"{where}({what}=...) names no output of the model: {unknown}. "
                              f"Its outputs: {names}")
        return dict(value)
    per_output_lists = what != "metrics" or (value and all(
        item is None or isinstance(item, (list, tuple)) for item in value))
    if isinstance(value, (list, tuple)) and len(names) > 1 and per_output_lists:
        if len(value) != len(names):
            raise ConfigError(f"{where}({what}=...) expects one entry per output {names} (or a "
                              f"dict by name). Received: {len(value)} entries")
        return dict(zip(names, value))
    return {name: value for name in names}


class Compiling:
    """compile and what it decides: compiled_losses, fused_outputs, loss_functions, and the
    compiled metrics (each output's (log name, Metric) pairs) that fit updates."""

    loss, optimizer, metrics, loss_weights = None, None, (), None
    compiled_losses = ()

    # -- compile -----------------------------------------------------------------------
    def compile(self, loss="cross_entropy", optimizer="sgd", metrics=None, loss_weights=None):
        """Choose the loss, the optimizer and the metrics reported by fit and evaluate.

        metrics: names or aliases ("accuracy", "acc", "top5", "precision", "recall", "f1",
        "auc", "mse", "mae", "confusion_matrix", ...: lamina.metrics.METRICS and ALIASES),
        lamina.metrics.Metric instances, or callables (outputs, y) -> float; each is logged
        under its name ("f1" as "f1_score"), prefixed by the output's name for several
        outputs.

        A model with several outputs takes loss, loss_weights and metrics per output: a dict
        keyed by output name (an output left out has no loss and is not trained by one) or
        a list in output order; one loss (or one metrics list) applies to every output.
        The loss fit minimises is sum_k loss_weights[k] * loss_k (weights default 1).

        With cross-entropy and an output that a softmax makes (a Softmax layer, a
        Dense(activation="softmax"), a nested model ending in one), the softmax is fused into
        the loss during training and evaluation, which then works on the logits (no double
        softmax, and exact for any logits, from_logits=False included; predict still returns
        probabilities). This is decided at every step (fused_outputs), so layers added later
        count too.
        """
        where = f"{self.describe()}.compile"
        names = list(self.output_names)
        losses = _per_output(where, "loss", loss, names)
        if not losses or all(value is None for value in losses.values()):
            raise ConfigError(f"{where} expects a loss for at least one output {names}. "
                              f"Received: loss={loss!r}")
        weights = _per_output(where, "loss_weights", 1.0 if loss_weights is None
                              else loss_weights, names)
        if metrics is not None and not isinstance(metrics, (list, tuple, dict)):
            raise ConfigError(f"{where} expects metrics as a list of names or callables (a dict "
                              f"of such lists by output name for several outputs), or None. "
                              f"Received: metrics={metrics!r}")
        per_output_metrics = _per_output(where, "metrics", metrics or [], names)
        optimizer = _named_setting(where, "optimizer", optimizer, optim_module.get)
        compiled = []
        for position, name in enumerate(names):
            if losses.get(name) is None:
                continue
            what = "loss" if len(names) == 1 else f"loss[{name!r}]"
            output_loss = _named_setting(where, what, losses[name], losses_module.get)
            weight = check_real(where, "loss_weights" if len(names) == 1
                                else f"loss_weights[{name!r}]", weights.get(name, 1.0), 0)
            listed = per_output_metrics.get(name) or []
            if not isinstance(listed, (list, tuple)):
                listed = [listed]
            objects = []
            for i, metric in enumerate(listed):
                label = f"metrics[{i}]" if len(names) == 1 else f"metrics[{name!r}][{i}]"
                if not (isinstance(metric, (str, dict, metrics_module.Metric))
                        or callable(metric)):
                    raise ConfigError(f"{where} expects each metric as a name, a "
                                      f"lamina.metrics.Metric or a callable (outputs, y) -> "
                                      f"float. Received: {label}={metric!r}")
                made = _named_setting(where, label, metric, metrics_module.metric)
                objects.append((made.name if len(names) == 1 else f"{name}_{made.name}", made))
            compiled.append(OutputLoss(position, name, output_loss, weight, objects))
        self.compiled_losses, self.optimizer = compiled, optimizer
        if len(names) == 1:
            self.loss, self.metrics = compiled[0].loss, list(metrics or [])
        else:
            self.loss = {entry.name: entry.loss for entry in compiled}
            self.metrics = {entry.name: list(per_output_metrics.get(entry.name) or [])
                            for entry in compiled if per_output_metrics.get(entry.name)}
        self.loss_weights = None if loss_weights is None else dict(weights)
        return self

    def require_compiled(self, what):
        """A ConfigError unless compile was called (what: the method that needs it)."""
        if not self.compiled_losses:
            raise ConfigError(f"{self.describe()} must be compiled before {what}: call "
                              f"model.compile(loss=..., optimizer=...)")

    def fused_outputs(self):
        """The output positions whose softmax the loss takes fused (their logits): outputs
        with a CrossEntropy loss that a softmax makes (the engine's Program.fusable). The one
        place this is decided; training, evaluation, diagnosis and lamina.distributed ask it."""
        program = self.program
        return tuple(entry.position for entry in self.compiled_losses
                     if isinstance(entry.loss, losses_module.CrossEntropy)
                     and program.fusable(entry.position) is not None)

    def loss_functions(self, fused=None):
        """Each compiled output's loss as the training outputs take it: on the logits
        (CrossEntropy.on_logits) where its softmax is fused. [(OutputLoss, function)]."""
        fused = self.fused_outputs() if fused is None else fused
        return [(entry, entry.loss.on_logits() if entry.position in fused else entry.loss)
                for entry in self.compiled_losses]

    # -- metrics (lamina.metrics objects, compiled per output) ----------------------------
    def reset_metrics(self):
        """Forget what the compiled metrics have seen (fit does this as each epoch starts)."""
        for entry in self.compiled_losses:
            for _, metric in entry.metrics:
                metric.reset_state()

    def update_metrics(self, outputs, ys, sample_weight=None):
        """Add a batch to the compiled metrics: outputs as predict gives them (a list per
        output, or bare for one), ys one array per compiled loss (or bare for one),
        sample_weight None or (N,)."""
        outputs = outputs if isinstance(outputs, list) else [outputs]
        ys = ys if isinstance(ys, list) else [ys]
        update_metric_lists(self.compiled_losses,
                            [entry.metrics for entry in self.compiled_losses], outputs, ys,
                            sample_weight)

    def metric_results(self, running=False):
        """{log name: result()} of the compiled metrics whose result is one number (a
        ConfusionMatrix's is not: read it from model.compiled_losses[k].metrics). running:
        only those whose running value fit logs after every batch (not AUC, whose result
        sorts every score seen)."""
        return metric_list_results([entry.metrics for entry in self.compiled_losses], running)

    def metric_states(self):
        """{log name: the metric's get_state()}: what a checkpoint keeps of the metrics."""
        return {name: metric.get_state() for entry in self.compiled_losses
                for name, metric in entry.metrics}

    def set_metric_states(self, states):
        """Restore metric_states() (the same compiled metrics, by log name)."""
        metrics = {name: metric for entry in self.compiled_losses
                   for name, metric in entry.metrics}
        if sorted(states) != sorted(metrics):
            raise ConfigError(f"{self.describe()}.set_metric_states expects states of the "
                              f"compiled metrics {sorted(metrics)}. Received: {sorted(states)}")
        for name, state in states.items():
            metrics[name].set_state(state)

    def fresh_metrics(self):
        """Per compiled loss, copies of its (log name, Metric) pairs that have seen nothing
        (what evaluate counts into, leaving the compiled ones to fit)."""
        return [[(name, metric.fresh()) for name, metric in entry.metrics]
                for entry in self.compiled_losses]

    def metric_outputs(self, outputs, fused=None):
        """The training outputs (a list, or bare for one) as the metrics take them (a list):
        probabilities (a softmax over axis 1) at the fused positions (default: this step's
        fused_outputs), which hold logits, where the output has metrics."""
        outputs = outputs if isinstance(outputs, list) else [outputs]
        fused = self.fused_outputs() if fused is None else fused
        return [softmax_forward(output, axis=1)[0]
                if position in fused and self._has_metrics(position) else output
                for position, output in enumerate(outputs)]

    def _has_metrics(self, position):
        return any(entry.metrics for entry in self.compiled_losses if entry.position == position)


def update_metric_lists(compiled_losses, metric_lists, outputs, ys, sample_weight):
    """Each compiled loss's metrics (metric_lists, in compile order) take its output and
    target."""
    for entry, metrics, target in zip(compiled_losses, metric_lists, ys):
        for _, metric in metrics:
            metric.update_state(target, outputs[entry.position], sample_weight)


def metric_list_results(metric_lists, running=False):
    """{log name: result} of the metrics whose result is one number (running: and is cheap
    enough for every batch's logs)."""
    return {name: metric.result() for metrics in metric_lists for name, metric in metrics
            if metric.scalar and (metric.running or not running)}
