"""One round on the driver: send the state, let the engine run the shards, apply the result.

    step_round      one global batch: the shards' gradient sums, divided once by the batch's
                    divisor, plus the weight penalties, then one optimizer step, exactly as
                    Sequential.train_step
    local_round     K local steps on every shard, then the rows-weighted means of their
                    weights, buffers and optimizer arrays loaded into the driver's model
    evaluate_round  loss and metrics of the model over all the shards' rows, eval mode

The training rounds return one (sums, rows) pair per step they covered: each logged value
({"loss": ..., "accuracy": ...}) times that step's rows, which the trainer adds up step by
step as fit does; evaluate_round returns the logs. A NaN or Inf is a NonFiniteError raised
before the driver's weights change.
"""

import math

import numpy as np

from lamina.distributed import shard
from lamina.distributed.replica import optimizer_spec
from lamina.distributed.sums import normalizer
from lamina.errors import NonFiniteError

__all__ = ["step_round", "apply_step", "local_round", "evaluate_round", "state_arrays"]


def state_arrays(model):
    """The model's state_dict() values (parameters, then buffers): what a round sends."""
    return list(model.state_dict().values())


def _logs(total, loss):
    return {"loss": loss, **{key[len("metric/"):]: value / total["rows"]
                             for key, value in total.items() if key.startswith("metric/")}}


def _mean_loss(model, total):
    divisor = normalizer(model.loss, total["divisor"])
    return (total["loss"] / divisor if divisor else float("nan")), divisor


def step_round(model, engine, shards, task):
    """Gradient sums -> mean -> penalties -> optimizer step; (logs, rows)."""
    total = engine.run(shards, shard.step_task, task, {"state": state_arrays(model)})["sum"]
    return [apply_step(model, total, task)]


def apply_step(model, total, task):
    """One optimizer step of model from the combined step_task sums; (logged sums, rows).

    The driver runs it in sync="step"; with aggregation="barrier" every task runs it on its
    replica (barrier.py), so the replicas take the driver's step exactly.
    """
    params = model.parameters()
    loss, divisor = _mean_loss(model, total)
    model.zero_grad()
    for i, param in enumerate(params):
        if f"grad/{i}" in total:
            grad = total[f"grad/{i}"]
            param.grad = grad / divisor if divisor else np.zeros_like(grad)
    for name in model.buffers():
        model.set_buffer(name, total[f"buffer/{name}"])
    loss += model.add_penalty_gradients()
    grads = [p.grad for p in params if p.grad is not None]
    if not math.isfinite(loss + sum(float(np.sum(g, dtype=np.float64)) for g in grads)):
        raise NonFiniteError(
            f"{task['owner']}: the loss or a gradient of epoch {task['epoch'] + 1}, step "
            f"{task['step'] + 1} is NaN or Inf (loss {loss}); the weights were not updated. "
            f"lamina.diagnose_nonfinite(model, x, y) on that batch finds where it starts.")
    model.apply_gradients()
    rows = total["rows"]
    return {key: value * rows for key, value in _logs(total, loss).items()}, rows


def local_round(model, engine, shards, task):
    """Local steps on every shard, then their rows-weighted means loaded; (logs, rows)."""
    optimizer = model.optimizer
    payload = {"state": state_arrays(model), "optimizer": optimizer.state_dict()}
    result = engine.run(shards, shard.local_task, {**task, "optimizer": optimizer_spec(optimizer)},
                        payload)
    total, maxima = result["sum"], result["max"]
    if total.get("nonfinite"):
        raise NonFiniteError(
            f"{task['owner']}: a local step of epoch {task['epoch'] + 1} (step "
            f"{maxima['nonfinite_step'] + 1} on {total['nonfinite']} shard(s)) has a NaN or Inf "
            f"loss or gradient; the round's weights were not loaded.")
    names = list(model.state_dict())
    model.load_state_dict({name: total[f"state/{i}"] for i, name in enumerate(names)})
    entries = {}
    for key, value in [*total.items(), *maxima.items()]:
        if key.startswith("opt/"):
            _, position, name = key.split("/", 2)
            entries.setdefault(int(position), {})[name] = value
    optimizer.load_state_dict({"lr": optimizer.lr, "iterations": maxima["iterations"],
                               "state": entries}, model.parameters())
    steps = {}
    for key, value in total.items():
        if key.startswith("step/"):
            _, step, name = key.split("/", 2)
            steps.setdefault(int(step), {})[name] = value
    return [({"loss": sums.pop("loss"), **{name[len("metric/"):]: value for name, value
                                            in sums.items() if name != "rows"}}, sums["rows"])
            for _, sums in sorted(steps.items())]


def evaluate_round(model, engine, shards, spec):
    """Loss (with the weight penalties, as model.evaluate) and metrics over the shards."""
    total = engine.run(shards, shard.evaluate_task, {"spec": spec, "round": -1},
                       {"state": state_arrays(model)})["sum"]
    loss, _ = _mean_loss(model, total)
    return _logs(total, loss + model.regularization_loss())
