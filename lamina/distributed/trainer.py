"""DistributedTrainer: the driver's loop over epochs and rounds, as Sequential.fit's.

The driver holds the model and its optimizer; the data is cut into the engine's shards once
per fit. Each epoch runs the plan's rounds (rounds.py: one global batch each in
sync="step", local_steps of them in sync="local"), then validation, the callbacks' epoch
hooks and the checkpoint. Progress bar, callbacks, History and the per-epoch logs (means
over the epoch's rows) are those of Sequential.fit; batch hooks are called once per round.
"""

import os

import numpy as np

from lamina.backend import get_rng
from lamina.callbacks import CallbackList, History
from lamina.distributed.checkpoint import restore_checkpoint, save_checkpoint
from lamina.distributed.local import LocalEngine, check_count
from lamina.distributed.plan import Plan
from lamina.distributed.replica import model_spec, walk
from lamina.distributed.rounds import evaluate_round, local_round, step_round
from lamina.errors import ConfigError, DistributedError, ShapeError
from lamina.layers.norm import BatchNorm1D, BatchNorm2D
from lamina.callbacks.progress import ProgressLogger
from lamina.training import Trainable

__all__ = ["DistributedTrainer"]

SYNC_MODES = ("step", "local")
BATCH_MIXING = (BatchNorm1D, BatchNorm2D)


class DistributedTrainer:
    """Data-parallel training of a compiled lamina model on an engine's shards.

    engine: LocalEngine(num_shards) (default: one shard) or SparkEngine(spark, ...).
    sync="step": one optimizer step per round on one global batch, the same training as
    model.fit with that batch (up to rounding). sync="local": every shard takes local_steps
    optimizer steps on its own rows of local_steps global batches, then the driver averages
    weights and optimizer state weighted by the rows each shard saw (local SGD).
    seed: keys the shuffle plan and dropout masks; None draws one from lamina's generator.
    """

    def __init__(self, model, engine=None, sync="step", local_steps=1, seed=None):
        name = type(self).__name__
        if sync not in SYNC_MODES:
            raise ConfigError(f"{name} expects sync as one of {list(SYNC_MODES)}. "
                              f"Received: sync={sync!r}")
        check_count(name, "local_steps", local_steps)
        if sync == "step" and local_steps != 1:
            raise ConfigError(f"{name}: local_steps={local_steps} needs sync='local' "
                              f"(sync='step' takes one global step per round).")
        if seed is not None:
            check_count(name, "seed", seed, minimum=0)
        if not isinstance(model, Trainable):
            raise ConfigError(f"{name} expects a compiled lamina.Sequential. "
                              f"Received: {type(model).__name__}")
        if len(model.input_names) != 1 or len(model.output_names) != 1:
            raise ConfigError(f"{name} trains models with one input and one output. Received: "
                              f"{model.describe()} with inputs {list(model.input_names)} and "
                              f"outputs {list(model.output_names)}")
        self.model, self.engine = model, engine if engine is not None else LocalEngine()
        self.sync, self.local_steps, self.seed = sync, local_steps, seed
        self.history = None

    def __repr__(self):
        return (f"{type(self).__name__}(sync={self.sync!r}, local_steps={self.local_steps}, "
                f"engine={self.engine!r})")

    # -- data ------------------------------------------------------------------------------
    def _shards(self, x, y, features_col, label_col, caller):
        """The engine's shards of x (arrays with y, or a DataFrame / Parquet path)."""
        model = self.model
        if isinstance(x, (np.ndarray, list)):
            if y is None:
                raise ConfigError(f"{type(self).__name__}.{caller} expects labels y with "
                                  f"NumPy inputs x (y is read from label_col only for a "
                                  f"DataFrame or Parquet path).")
            (x,), (y,) = model.prepare_data(x, y, caller)
            shards = self.engine.distribute(x, y)
        else:
            shards = self._frame_shards(x, y, features_col, label_col, caller)
        if getattr(model, "input_shape", None) is None:  # built eagerly: record the input shape
            try:
                model.build((None,) + tuple(shards.sample_shape))
            except BaseException:
                self.engine.release(shards)
                raise
        return shards

    def _frame_shards(self, x, y, features_col, label_col, caller):
        model = self.model
        if y is not None:
            raise ConfigError(f"{type(self).__name__}.{caller}: with a DataFrame or Parquet "
                              f"path the labels come from label_col={label_col!r}; pass y=None.")
        shape = tuple(model.input_shape[1:]) if model.built and \
            getattr(model, "input_shape", None) else None
        shards = self.engine.distribute_frame(x, features_col=features_col,
                                              label_col=label_col, dtype=model.dtype,
                                              sample_shape=shape)
        if shards.n == 0:
            raise ShapeError(f"{type(self).__name__}.{caller} expects a non-empty data set. "
                             f"Received: 0 rows")
        return shards

    def _check_compiled(self):
        if self.model.loss is None:
            raise ConfigError(f"{self.model.describe()} must be compiled before distributed "
                              f"training: call model.compile(loss=..., optimizer=...)")

    def _check_model(self):
        model = self.model
        self._check_compiled()
        if self.sync == "step":
            mixing = next((layer for layer in walk(model) if isinstance(layer, BATCH_MIXING)),
                          None)
            if mixing is not None:
                raise DistributedError(
                    f"{mixing.describe()} normalises with statistics of the whole batch, which "
                    f"sync='step' splits across shards, so it cannot be trained exactly. Use "
                    f"sync='local' (each shard normalises its own rows; running statistics are "
                    f"averaged), or a per-example norm (LayerNorm, GroupNorm, InstanceNorm2D).")

    # -- training --------------------------------------------------------------------------
    def fit(self, x, y=None, epochs=1, batch_size=32, shuffle=True, validation_data=None,
            features_col="features", label_col="label", checkpoint=None, resume=False,
            verbose="auto", callbacks=None, delete_checkpoint=True):
        """Train for `epochs` epochs; returns a History (also kept as model.history).

        x: a NumPy array with labels y, a Spark DataFrame with features_col (array or ML
        vector, reshaped to the model's input shape when it is built) and label_col, or a
        Parquet path. validation_data: (x_val, y_val) arrays, evaluated on the driver, or a
        DataFrame / Parquet path, evaluated on the shards. checkpoint: a file written
        atomically after every epoch, removed when fit returns unless delete_checkpoint=False
        (as local fit's; it survives a crash or an exception); resume=True continues from it
        when it exists.
        verbose and callbacks as Sequential.fit (a batch callback sees one call per round).
        """
        for name, value, minimum in (("epochs", epochs, 0), ("batch_size", batch_size, 1)):
            check_count(f"{type(self).__name__}.fit", name, value, minimum)
        if resume and checkpoint is None:
            raise ConfigError(f"{type(self).__name__}.fit(resume=True) needs the checkpoint "
                              f"path to resume from: pass checkpoint='run.lamina'.")
        self._check_model()
        model = self.model
        shards = self._shards(x, y, features_col, label_col, "fit")
        validation = None
        try:
            if validation_data is not None:
                validation = self._validation(validation_data, features_col, label_col)
            history = self._fit(shards, validation, epochs, batch_size, shuffle, checkpoint,
                                resume, verbose, callbacks)
            if delete_checkpoint and checkpoint is not None and os.path.exists(checkpoint):
                os.remove(checkpoint)  # training ended normally: nothing left to resume
            return history
        finally:
            self.engine.release(shards)
            if validation is not None and validation[0] == "shards":
                self.engine.release(validation[1])
            model.train()

    def _validation(self, data, features_col, label_col):
        if isinstance(data, (tuple, list)) and len(data) == 2:
            return ("arrays",) + tuple(data)
        return ("shards", self._shards(data, None, features_col, label_col, "fit"))

    def _fit(self, shards, validation, epochs, batch_size, shuffle, checkpoint, resume,
             verbose, callbacks):
        model = self.model
        seed = self.seed if self.seed is not None else int(get_rng().integers(2**63))
        progress = {"n": shards.n, "batch_size": batch_size, "shuffle": bool(shuffle),
                    "sync": self.sync, "local_steps": self.local_steps, "seed": self.seed}
        saved = None
        if resume and os.path.exists(checkpoint):
            saved = restore_checkpoint(checkpoint, model, progress)
            seed = saved["seed"]
        plan = Plan(shards.n, batch_size, seed, bool(shuffle))
        self._batch_size = batch_size
        progress["seed"] = seed
        spec = model_spec(model, type(self).__name__)
        self.history = model.history = History()
        params = {"epochs": epochs, "steps": plan.steps, "batch_size": batch_size,
                  "samples": shards.n, "verbose": verbose}
        hooks = CallbackList([*(callbacks or []), ProgressLogger(verbose), self.history],
                             model, params)
        model.stop_training = False
        model.train()
        hooks.on_train_begin()
        first_epoch = 0
        if saved is not None:
            for i, epoch in enumerate(saved["history_epochs"]):
                self.history.record(epoch, {key: values[i]
                                            for key, values in saved["history"].items()})
            first_epoch = saved["epoch"] + 1
        rounds = plan.rounds(self.local_steps)
        for epoch in range(first_epoch, epochs):
            hooks.on_epoch_begin(epoch)
            logs = self._train_epoch(shards, plan, spec, epoch, rounds, hooks)
            if validation is not None:
                logs.update({f"val_{k}": v for k, v in self._validate(validation, spec).items()})
                model.train()
            hooks.on_epoch_end(epoch, logs)
            if checkpoint is not None:
                save_checkpoint(checkpoint, model, {**progress, "epoch": epoch,
                                                    "history": self.history.history,
                                                    "history_epochs": self.history.epoch})
            if model.stop_training:
                break
        hooks.on_train_end()
        return self.history

    def _train_epoch(self, shards, plan, spec, epoch, rounds, hooks):
        """One pass over the plan's batches, a round at a time; the epoch's mean logs."""
        totals, seen = {}, 0
        for index, (first, count) in enumerate(rounds):
            hooks.on_train_batch_begin(first)
            task = {"spec": spec, "plan": plan, "epoch": epoch, "first": first, "count": count,
                    "step": first, "round": epoch * len(rounds) + index,
                    "owner": type(self).__name__}
            steps = (step_round if self.sync == "step" else local_round)(
                self.model, self.engine, shards, task)
            for sums, rows in steps:  # added step by step, as fit does (FitState.add)
                for key, value in sums.items():
                    totals[key] = totals.get(key, 0.0) + value
                seen += rows
            hooks.on_train_batch_end(first + count - 1, {k: v / seen for k, v in totals.items()})
            if self.model.stop_training:
                break
        return {k: v / seen for k, v in totals.items()}

    # -- evaluation ------------------------------------------------------------------------
    def _validate(self, validation, spec):
        if validation[0] == "arrays":
            _, x, y = validation
            return self.model.evaluate(x, y, batch_size=max(self._batch_size, 256))
        return evaluate_round(self.model, self.engine, validation[1], spec)

    def evaluate(self, x, y=None, features_col="features", label_col="label"):
        """Loss and metrics over the data in eval mode, computed on the shards:
        {"loss": ..., "accuracy": ...} as model.evaluate."""
        self._check_compiled()
        shards = self._shards(x, y, features_col, label_col, "evaluate")
        try:
            return evaluate_round(self.model, self.engine, shards,
                                  model_spec(self.model, type(self).__name__))
        finally:
            self.engine.release(shards)
