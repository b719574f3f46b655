"""Monitor: per-layer statistics during training, and warnings that name causes and fixes.

    monitor = Monitor(every=50)
    model.fit(x, y, epochs=10, callbacks=[monitor, CSVLogger("run.csv")])
    monitor.records      # one row per sampled step, layer and statistic
    monitor.warnings     # each problem once: lamina.callbacks.symptoms.TrainingWarning
    lamina.plot.monitor(monitor, path="monitor.png")

Every `every` steps (from the first) the Monitor replays the coming batch through the model
before fit runs the step, watching the monitored layers' outputs through the engine's hook
point (lamina.layers.hooks: nested layers too), with lamina's random state and the buffers
put back afterwards so the step itself is the one an unmonitored run takes; it copies the
weights, and after the step reads each parameter's gradient and how far the step moved it.
Nothing in the layers is replaced or flagged. Statistics (lamina.interpret.statistics), per
monitored layer (named by its top-level name, or by the path it was given):

    mean, std, zeros     of its output (zeros: the fraction exactly 0)
    dead                 ReLU / ReLU6: the share of units silent over the last `window` samples
    saturated            Sigmoid / Tanh: the share of outputs with a derivative < 1% of its peak
    grad_norm, update_ratio   per parameter ("conv1.weight"): ||g||, ||w_after - w_before|| / ||w_before||

Warnings (lamina.callbacks.symptoms) are printed once per problem (verbose=1) and kept in
`warnings`; each epoch's logs get the latest value of every statistic as
"monitor/<layer>/<statistic>" and the epoch's new warnings as "monitor/warnings", so the
History and a CSVLogger listed after the Monitor keep them (fit's table leaves them out).
"""

from collections import deque

import numpy as np

from lamina.backend import rng_state, set_rng_state
from lamina.callbacks import symptoms
from lamina.callbacks.base import Callback
from lamina.callbacks.logging import CSVLogger
from lamina.errors import ConfigError
from lamina.functional.checks import check_int, check_number
from lamina.graph.engine import first_output
from lamina.interpret import statistics as stats
from lamina.callbacks.progress import ProgressLogger
from lamina.interpret.chain import check_chain, every_layer, find_layer, observing
from lamina.layers import hooks

__all__ = ["Monitor"]

PREFIX = "monitor/"


class Monitor(Callback):
    """Per-layer activation, gradient and update statistics every `every` steps; warnings.

    layers: top-level names or indices into model.layers (None: all of them), or paths into
    nested containers as state_dict() names them ("0.block.1": records "0.block.1/mean" and
    "0.block.1.weight"). window: the
    number of sampled batches a unit must stay silent on to count as dead. dead_share,
    gradient_ratio, update_range, rise_steps: the warning thresholds (see symptoms); a
    sampled symptom (gradients, updates) must hold on `confirm` samples in a row.
    verbose: 1 prints each warning once, 0 only records it.
    """

    def __init__(self, every=50, layers=None, window=10, dead_share=symptoms.DEAD_SHARE,
                 gradient_ratio=symptoms.GRADIENT_RATIO, update_range=symptoms.UPDATE_RANGE,
                 rise_steps=symptoms.RISE_STEPS, confirm=3, verbose=1):
        every, window, rise_steps, confirm = (
            check_int("Monitor", name, value, 1) for name, value in
            (("every", every), ("window", window), ("rise_steps", rise_steps), ("confirm", confirm)))
        self.dead_share = check_number("Monitor", "dead_share", dead_share,
                                       lambda v: 0 <= v < 1, "a fraction in [0, 1)")
        self.gradient_ratio = check_number("Monitor", "gradient_ratio", gradient_ratio,
                                           lambda v: v > 1, "a number > 1")
        if not (isinstance(update_range, (tuple, list)) and len(update_range) == 2
                and 0 <= update_range[0] < update_range[1]):
            raise ConfigError(f"Monitor expects update_range as (low, high) with 0 <= low < "
                              f"high. Received: update_range={update_range!r}")
        self.every, self.window, self.rise_steps, self.confirm = every, window, rise_steps, confirm
        self.layers, self.update_range, self.verbose = layers, tuple(update_range), verbose
        self.records, self.warnings = [], []

    # -- fit's hooks -------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._watched = self._chosen_layers()
        callbacks = getattr(self.model.fit_state, "callbacks", None) or []
        self._logger = next((c for c in callbacks if isinstance(c, ProgressLogger)
                             and c.verbose), None)
        mine = next((i for i, c in enumerate(callbacks) if c is self), None)
        late = [c for c in callbacks[:mine or 0] if isinstance(c, CSVLogger)]
        if late:
            raise ConfigError(f"Monitor must come before CSVLogger in fit's callbacks, so that "
                              f"the CSV file gets its columns. Received: CSVLogger("
                              f"{late[0].filename!r}) listed before the Monitor")
        self.records, self.warnings = [], []
        self._step, self._pending, self._columns = 0, None, {}
        self._fired = {key: deque(maxlen=self.window) for key, _ in self._watched}
        self._streaks, self._warned = {}, set()
        self._losses = deque(maxlen=max(self.rise_steps + 1, symptoms.STUCK_STEPS))
        self._clipped = symptoms.clipped_loss(self.model.dtype)

    def on_epoch_begin(self, epoch, logs=None):
        state = self.model.fit_state
        self._epoch = epoch
        self._totals = (state.totals.get("loss", 0.0), state.seen)

    def on_train_batch_begin(self, batch, logs=None):
        if self._step % self.every == 0:
            self._pending = self._observe_forward(batch)

    def on_train_batch_nonfinite(self, batch, report):
        self._pending = None
        self._step += 1

    def on_train_batch_end(self, batch, logs=None):
        self._check_loss(batch)
        if self._pending is not None:
            self._observe_step(batch, *self._pending)
            self._pending = None
        self._step += 1

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        latest = {}
        for row in reversed(self.records):  # this epoch's rows are the last ones
            if row["epoch"] != epoch:
                break
            latest.setdefault((row["layer"], row["statistic"]), row["value"])
        for key in self._columns:
            logs[f"{PREFIX}{key[0]}/{key[1]}"] = latest.get(key, float("nan"))
        logs[f"{PREFIX}warnings"] = "; ".join(w.summary() for w in self.warnings
                                              if w.epoch == epoch)

    # -- resuming (BackupAndRestore) ------------------------------------------------------
    def state_dict(self):
        """Everything seen so far, so that a resumed run ends with an uninterrupted run's
        records and warnings: JSON values, and the dead-unit windows as arrays."""
        if not hasattr(self, "_step"):  # before fit
            return {}
        columns = {key: [row[key] for row in self.records]
                   for key in ("epoch", "step", "layer", "statistic")}
        return {"step": self._step, "records": columns,
                "values": np.array([row["value"] for row in self.records], np.float64),
                "warnings": [vars(warning) for warning in self.warnings],
                "warned": [list(key) for key in self._warned],
                "streaks": [[*key, count] for key, count in self._streaks.items()],
                "losses": list(self._losses), "columns": [list(key) for key in self._columns],
                "fired": {key: np.array(list(window), np.uint8)
                          for key, window in self._fired.items() if window}}

    def load_state_dict(self, state):
        self._step = state["step"]
        columns = state["records"]
        self.records = [{"epoch": epoch, "step": step, "layer": layer, "statistic": statistic,
                         "value": float(value)} for epoch, step, layer, statistic, value in
                        zip(columns["epoch"], columns["step"], columns["layer"],
                            columns["statistic"], state["values"])]
        self.warnings = [symptoms.TrainingWarning(**fields) for fields in state["warnings"]]
        self._warned = {tuple(key) for key in state["warned"]}
        self._streaks = {(kind, subject): count for kind, subject, count in state["streaks"]}
        self._losses.clear()
        self._losses.extend(state["losses"])
        self._columns = {tuple(key): None for key in state["columns"]}
        for key, window in state["fired"].items():
            self._fired[key].clear()
            self._fired[key].extend(np.asarray(window, bool))

    # -- observing ---------------------------------------------------------------------
    def _chosen_layers(self):
        """[(key, layer)] in the model's order: a top-level layer keyed by its name, a nested
        one by its path."""
        model = self.model
        check_chain(model, "Monitor")
        if self.layers is None:
            return [(layer.name, layer) for layer in model.layers]
        chosen = {}
        for layer in self.layers:
            found = find_layer(model, layer, "Monitor")
            nested = isinstance(layer, str) and "." in layer
            chosen.setdefault(id(found), (layer if nested else found.name, found))
        order = {id(layer): i for i, layer in enumerate(every_layer(model))}
        return sorted(chosen.values(), key=lambda found: order[id(found[1])])

    def _batch(self, batch):
        return self.model.fit_state.batch[0]  # the inputs of the step about to run

    def _observe_forward(self, batch):
        """Statistics of each monitored layer's output on this batch, and the weights as they
        are before the step."""
        model, keys, outputs = self.model, {id(layer): key for key, layer in self._watched}, {}

        def seen(layer, inputs, output):
            key = keys.get(id(layer))
            if key is not None and key not in outputs:
                outputs[key] = first_output(output)

        random_state = rng_state()
        try:
            with observing(model, training=None), hooks.observe(on_forward=seen):
                model.run(self._batch(batch))
        finally:
            set_rng_state(random_state)  # the step draws the same Dropout masks
        rows = {}
        for key, layer in self._watched:
            if key not in outputs:  # a layer this forward does not call
                continue
            output = outputs[key]
            rows[key] = stats.activation_statistics(output)
            if isinstance(layer, stats.RECTIFIERS):
                self._fired[key].append(stats.fired_units(output))
                rows[key]["dead"] = stats.dead_share(self._fired[key])
            saturated = stats.saturated_share(layer, output)
            if saturated is not None:
                rows[key]["saturated"] = saturated
        weights = {(key, name): p.data.copy() for key, layer in self._watched
                   for name, p in layer.named_parameters() if p.trainable}
        return rows, weights

    def _observe_step(self, batch, rows, weights):
        relative = []  # (layer name, ||g|| / ||w||) of each parametrised layer, in order
        for layer_key, layer in self._watched:
            grads, sizes = [], []
            for name, p in layer.named_parameters():
                if (layer_key, name) not in weights:
                    continue
                before = weights[(layer_key, name)]
                key = f"{layer_key}.{name}"
                rows[key] = {"grad_norm": stats.gradient_norm(p.grad),
                             "update_ratio": stats.update_ratio(before, p.data)}
                grads.append(rows[key]["grad_norm"])
                sizes.append(float(np.linalg.norm(before)))
                if before.ndim >= 2:
                    self._sampled("update_ratio", key, symptoms.update_ratio(
                        key, rows[key]["update_ratio"], self.update_range), batch)
            if grads and np.hypot.reduce(sizes) > 0:
                relative.append((layer.describe(), np.hypot.reduce(grads) / np.hypot.reduce(sizes)))
            layer_rows = rows.get(layer_key, {})
            if "dead" in layer_rows and len(self._fired[layer_key]) == self.window:
                self._warn("dead_relu", layer.describe(), symptoms.dead_relu(
                    layer.describe(), layer_rows["dead"], self.window, self.dead_share), batch)
        if len(relative) >= 2:
            found = symptoms.gradient_ratio(relative[0], relative[-1], self.gradient_ratio)
            for kind in ("vanishing_gradients", "exploding_gradients"):
                self._sampled(kind, "gradients", found[1] if found and found[0] == kind
                              else None, batch)
        for layer, values in rows.items():
            for statistic, value in values.items():
                self._columns.setdefault((layer, statistic), None)
                self.records.append({"epoch": self._epoch, "step": self._step, "layer": layer,
                                     "statistic": statistic, "value": value})

    def _check_loss(self, batch):
        """The batch's own loss, from the change in fit's running sums."""
        state = self.model.fit_state
        total, seen = state.totals.get("loss", 0.0), state.seen
        if seen <= self._totals[1]:
            return
        self._losses.append((total - self._totals[0]) / (seen - self._totals[1]))
        self._totals = (total, seen)
        self._warn("loss_stuck", "loss", symptoms.loss_stuck(self._losses, self._clipped), batch)
        self._warn("loss_rising", "loss", symptoms.loss_rising(self._losses, self.rise_steps),
                   batch)

    # -- warning -----------------------------------------------------------------------
    def _sampled(self, kind, subject, message, batch):
        """Warn when `message` came on `confirm` samples in a row."""
        key = (kind, subject)
        self._streaks[key] = self._streaks.get(key, 0) + 1 if message else 0
        if self._streaks[key] >= self.confirm:
            self._warn(kind, subject, message, batch)

    def _warn(self, kind, subject, message, batch):
        if message is None or (kind, subject) in self._warned:
            return
        self._warned.add((kind, subject))
        warning = symptoms.TrainingWarning(kind, subject, self._epoch, batch, message)
        self.warnings.append(warning)
        if self.verbose:  # through fit's progress output, which clears a live bar first
            (self._logger.note if self._logger is not None else print)(str(warning))

