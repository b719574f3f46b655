"""The work of one shard in one round: a pure function of (task, payload, block).

task: plain values (the model spec, the Plan, the epoch and steps, lamina's generator state
at each step, the optimizer's class and settings); payload: NumPy arrays (the weights and
buffers in state_dict order, and in sync="local" the optimizer state); block: the shard's
data, (start, x, y) with x, y its contiguous rows [start, start + len(x)). Nothing else is
read: no clock, no global random state (dropout masks are the shard's rows of the masks
model.fit draws for the whole batch, from the step's generator state in the task, see
draws.py), so a retried task computes exactly what the first attempt did. Results are
combine.py dicts:

    step_task    one global batch: {"sum": {"loss", "divisor", "rows", "metric/<name>",
                 "grad/<i>" (gradient *sums* over the shard's rows), "buffer/<name>"}}
    local_task   K local steps on the shard's rows of K global batches, then the weights
                 and optimizer state scaled by the shard's share of the round's rows, so that
                 their combined sum is the example-weighted mean, and each step's logged sums
                 ("step/<step>/loss", "step/<step>/rows", "step/<step>/metric/<name>");
                 {"max": {"iterations",
                 "opt/<position>/<key>" numbers such as Adam's step}}
    evaluate_task  loss and metric sums over all of the shard's rows, in eval mode

A shard with no rows in a round returns {"sum": {"rows": 0}, "max": {}}: it adds nothing.
A local step whose loss or gradient is NaN or Inf (train_step's NonFiniteError) ends the
shard's round with {"sum": {"nonfinite": 1}}, which the driver reports: retrying it would
only fail again.
"""

import numpy as np

from lamina.distributed.draws import batch_dropout
from lamina.distributed.plan import rows_in_shard
from lamina.distributed.replica import build_optimizer, load_state, replica
from lamina.distributed.sums import loss_sums
from lamina.errors import NonFiniteError

__all__ = ["step_task", "local_task", "evaluate_task", "NOTHING"]

NOTHING = {"sum": {"rows": 0}, "max": {}}
EVALUATE_CHUNK = 256


def _metric_sums(model, outputs, y, rows):
    return {f"metric/{name}": value * rows
            for name, value in model.compute_metrics(outputs, [y]).items()}


def _loss_function(model, fused):
    """The model's one loss, as its training outputs take it (the logits where fused)."""
    (_, loss_fn), = model.loss_functions(fused)
    return loss_fn


def step_task(task, payload, block):
    """Gradient sums of the loss over this shard's rows of global batch (epoch, step)."""
    start, x, y = block
    plan, epoch, step = task["plan"], task["epoch"], task["step"]
    batch = plan.batch(epoch, step)
    positions, local = rows_in_shard(batch, start, len(x))
    if len(local) == 0:
        return NOTHING
    model = replica(task["spec"])
    load_state(model, payload["state"])
    model.train()
    x_rows, y_rows = x[local], y[local]
    fused = model.fused_outputs()
    with np.errstate(all="ignore"):  # the driver checks the sums for NaN and Inf
        with batch_dropout(model, task["rng"][0], len(batch), positions):
            outputs, = model.run([x_rows], fused)
        loss_sum, dout, divisor = loss_sums(_loss_function(model, fused), outputs, y_rows)
        model.zero_grad()
        model.run_backward([dout], input_grad=False)
    sums = {"loss": loss_sum, "divisor": divisor, "rows": len(local),
            **_metric_sums(model, outputs, y_rows, len(local))}
    sums.update((f"grad/{i}", p.grad) for i, p in enumerate(model.parameters())
                if p.grad is not None)
    share = len(local) / len(batch)  # buffers (running statistics): the rows-weighted mean
    sums.update((f"buffer/{name}", value * value.dtype.type(share))
                for name, value in model.buffers().items())
    return {"sum": sums, "max": {}}


def local_task(task, payload, block):
    """task["count"] local optimizer steps from task["first"] on, on this shard's rows."""
    start, x, y = block
    plan, epoch, first, count = task["plan"], task["epoch"], task["first"], task["count"]
    model, optimizer = None, None
    sums, rows_done = {}, 0
    for step in range(first, first + count):
        batch = plan.batch(epoch, step)
        positions, local = rows_in_shard(batch, start, len(x))
        if len(local) == 0:
            continue
        if model is None:
            model = replica(task["spec"])
            load_state(model, payload["state"])
            model.train()
            optimizer = model.optimizer = build_optimizer(task["optimizer"])
            optimizer.load_state_dict(payload["optimizer"], model.parameters())
        x_rows, y_rows = x[local], y[local]
        try:
            with batch_dropout(model, task["rng"][step - first], len(batch), positions):
                loss, outputs = model.train_step(x_rows, y_rows)
        except NonFiniteError:  # deterministic: a retry would fail again; the driver reports it
            return {"sum": {"rows": 0, "nonfinite": 1}, "max": {"nonfinite_step": step}}
        # per step, so the driver adds the steps' logs in fit's order (exact on one shard)
        sums[f"step/{step}/loss"] = loss * len(local)
        sums[f"step/{step}/rows"] = len(local)
        sums.update((f"step/{step}/{name}", value) for name, value
                    in _metric_sums(model, outputs, y_rows, len(local)).items())
        rows_done += len(local)
    if model is None:
        return NOTHING
    share = rows_done / plan.rows_in_steps(first, count)
    sums["rows"] = rows_done
    sums.update((f"state/{i}", value * value.dtype.type(share))
                for i, value in enumerate(model.state_dict().values()))
    maxima = {"iterations": optimizer.iterations}
    for position, entry in optimizer.state_dict()["state"].items():
        for key, value in entry.items():
            if isinstance(value, np.ndarray):
                sums[f"opt/{position}/{key}"] = value * value.dtype.type(share)
            else:
                maxima[f"opt/{position}/{key}"] = value
    return {"sum": sums, "max": maxima}


def evaluate_task(task, payload, block):
    """Loss and metric sums over all of the shard's rows, eval mode, in chunks."""
    _, x, y = block
    if len(x) == 0:
        return NOTHING
    model = replica(task["spec"])
    load_state(model, payload["state"])
    model.eval()
    fused = model.fused_outputs()
    with np.errstate(all="ignore"):
        outputs = np.concatenate([model.run([x[i:i + EVALUATE_CHUNK]], fused)[0]
                                  for i in range(0, len(x), EVALUATE_CHUNK)])
        loss_sum, _, divisor = loss_sums(_loss_function(model, fused), outputs, y)
    sums = {"loss": loss_sum, "divisor": divisor, "rows": len(x),
            **_metric_sums(model, outputs, y, len(x))}
    return {"sum": sums, "max": {}}
