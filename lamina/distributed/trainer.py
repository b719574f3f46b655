"""DistributedTrainer: Sequential.fit's loop (lamina.fitting) over an engine's rounds.

The driver holds the model and its optimizer; the data is cut into the engine's shards once
per fit. The loop, its argument checks, progress bar, callbacks and History are the ones
Sequential.fit runs; this module gives it what differs: an epoch is the plan's rounds
(rounds.py: one global batch each in sync="step", local_steps of them in sync="local"),
whose logs are means over the epoch's rows, batch hooks called once per round; validation
runs on the driver (arrays) or on the shards; the checkpoint is the driver's
(checkpoint.py), written after every epoch or every checkpoint_freq rounds.
"""

import os

import numpy as np

from lamina.backend import get_rng
from lamina.callbacks import BackupAndRestore
from lamina.callbacks.progress import ProgressLogger
from lamina.callbacks.backup import fingerprint
from lamina.distributed.barrier import barrier_round
from lamina.distributed.checkpoint import DriverCheckpoint, read_checkpoint
from lamina.distributed.draws import dropout_draws, step_states
from lamina.distributed.local import LocalEngine, check_count
from lamina.distributed.plan import Plan
from lamina.distributed.replica import model_spec, walk
from lamina.distributed.rounds import evaluate_round, local_round, step_round
from lamina.errors import ConfigError, DistributedError, ShapeError
from lamina.fitting import check_fit_arguments, run_fit
from lamina.layers.norm import BatchNorm1D, BatchNorm2D
from lamina.training import Trainable

__all__ = ["DistributedTrainer"]

SYNC_MODES = ("step", "local")
AGGREGATIONS = ("driver", "barrier")
BATCH_MIXING = (BatchNorm1D, BatchNorm2D)


class DistributedTrainer:
    """Data-parallel training of a compiled lamina model on an engine's shards.

    engine: LocalEngine(num_shards) (default: one shard) or SparkEngine(spark, ...).
    sync="step": one optimizer step per round on one global batch, the same training as
    model.fit with that batch (up to rounding). sync="local": every shard takes local_steps
    optimizer steps on its own rows of local_steps global batches, then the driver averages
    weights and optimizer state weighted by the rows each shard saw (local SGD).
    seed: keys the shuffle plan; None draws one from lamina's generator. Dropout masks are
    model.fit's: drawn from lamina's generator, a whole batch per step (draws.py).
    aggregation="driver": the engine's shard results are combined on the driver (one job
    per round); aggregation="barrier" (sync="step", a SparkEngine): steps_per_job global
    steps per barrier-mode Spark job, the tasks summing their gradients among themselves
    over sockets in the same fixed order (barrier.py), the same training bit for bit.
    """

    def __init__(self, model, engine=None, sync="step", local_steps=1, seed=None,
                 aggregation="driver", steps_per_job=1):
        name = type(self).__name__
        if sync not in SYNC_MODES:
            raise ConfigError(f"{name} expects sync as one of {list(SYNC_MODES)}. "
                              f"Received: sync={sync!r}")
        if aggregation not in AGGREGATIONS:
            raise ConfigError(f"{name} expects aggregation as one of {list(AGGREGATIONS)}. "
                              f"Received: aggregation={aggregation!r}")
        check_count(name, "steps_per_job", steps_per_job)
        if aggregation == "barrier" and (sync != "step" or isinstance(engine, LocalEngine)
                                         or engine is None):
            raise ConfigError(f"{name}: aggregation='barrier' takes sync='step' rounds on a "
                              f"SparkEngine (LocalEngine computes the same training with "
                              f"aggregation='driver'). Received: sync={sync!r}, "
                              f"engine={engine!r}")
        if aggregation == "driver" and steps_per_job != 1:
            raise ConfigError(f"{name}: steps_per_job={steps_per_job} needs "
                              f"aggregation='barrier' (the driver takes one step per job).")
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
        self.aggregation, self.steps_per_job = aggregation, steps_per_job
        self.history = None

    def __repr__(self):
        barrier = f", aggregation='barrier', steps_per_job={self.steps_per_job}" \
            if self.aggregation == "barrier" else ""
        return (f"{type(self).__name__}(sync={self.sync!r}, local_steps={self.local_steps}"
                f"{barrier}, engine={self.engine!r})")

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
        self.model.require_compiled("distributed training")

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
            verbose="auto", callbacks=None, delete_checkpoint=True, checkpoint_freq="epoch"):
        """Train for `epochs` epochs; returns a History (also kept as model.history).

        x: a NumPy array with labels y, a Spark DataFrame with features_col (array or ML
        vector, reshaped to the model's input shape when it is built) and label_col, or a
        Parquet path. validation_data: (x_val, y_val) arrays, evaluated on the driver, or a
        DataFrame / Parquet path, evaluated on the shards. checkpoint: a file written
        atomically after every epoch, and after every checkpoint_freq-th round when that is
        an int (rounds counted over the run: steps in sync="step"), removed when fit returns
        unless delete_checkpoint=False (as local fit's; it survives a crash or an
        exception); resume=True continues from it when it exists, from the round after the
        one it was written at, with the weights, optimizer, callbacks' states and History of
        that moment: the run ends as an uninterrupted one, bit for bit. A checkpoint of
        other data (SHA-256 of the shards' blocks and of the validation data), shards or
        settings is refused with a CheckpointError.
        The arguments it shares with Sequential.fit are checked as there (lamina.fitting),
        and verbose and callbacks work as there (a batch callback sees one call per round;
        BackupAndRestore is local fit's: checkpoint=path is this fit's).
        """
        where = f"{type(self).__name__}.fit"
        arguments = check_fit_arguments(where, epochs=epochs, batch_size=batch_size,
                                        shuffle=shuffle, verbose=verbose, callbacks=callbacks,
                                        checkpoint=checkpoint, resume=resume,
                                        checkpoint_freq=checkpoint_freq)
        backup = next((c for c in arguments.callbacks if isinstance(c, BackupAndRestore)), None)
        if backup is not None:
            raise ConfigError(f"{where} checkpoints the driver with checkpoint=path (after "
                              f"every epoch); BackupAndRestore is for model.fit. Received: "
                              f"BackupAndRestore({backup.filepath!r})")
        self._check_model()
        model = self.model
        shards = self._shards(x, y, features_col, label_col, "fit")
        validation = None
        try:
            if validation_data is not None:
                validation = self._validation(validation_data, features_col, label_col)
            history = self._fit(shards, validation, arguments)
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

    def _fit(self, shards, validation, arguments):
        """The fit loop (lamina.fitting) over this trainer's rounds, from a checkpoint's
        position when it resumes."""
        model, checkpoint, batch_size = self.model, arguments.checkpoint, arguments.batch_size
        seed = self.seed if self.seed is not None else int(get_rng().integers(2**63))
        per_round = self.steps_per_job if self.aggregation == "barrier" else self.local_steps
        progress = {"n": shards.n, "batch_size": batch_size, "shuffle": arguments.shuffle,
                    "sync": self.sync, "local_steps": self.local_steps,
                    "steps_per_round": per_round, "num_shards": shards.num_shards,
                    "seed": self.seed}
        saved = None
        if checkpoint is not None:
            progress["data"] = self.engine.fingerprint(shards)
            progress["validation_data"] = self._fingerprint(validation)
            if arguments.resume and os.path.exists(checkpoint):
                saved = read_checkpoint(checkpoint, model, progress)
                seed = saved[1]["seed"]
        plan = Plan(shards.n, batch_size, seed, arguments.shuffle)
        progress["seed"] = seed
        spec = model_spec(model, type(self).__name__)
        rounds = plan.rounds(per_round)
        self.engine.check_rounds(model, self.sync, shards, self.aggregation)
        draws = dropout_draws(spec)
        params = {"epochs": arguments.epochs, "steps": plan.steps, "batch_size": batch_size,
                  "samples": shards.n, "verbose": arguments.verbose}
        validate = None if validation is None else (
            lambda: self._validate(validation, spec, batch_size))
        checkpoints = [] if checkpoint is None else [
            DriverCheckpoint(checkpoint, progress, saved, arguments.checkpoint_freq,
                             len(rounds), per_round)]
        try:
            return run_fit(
                model, arguments.epochs,
                lambda hooks: self._train_epoch(shards, plan, spec, rounds, draws, hooks),
                validate,
                callbacks=arguments.callbacks, progress=ProgressLogger(arguments.verbose),
                checkpoints=checkpoints, params=params)
        finally:
            self.history = model.history

    def _fingerprint(self, validation):
        if validation is None:
            return None
        if validation[0] == "arrays":
            return fingerprint(*validation[1:])
        return self.engine.fingerprint(validation[1])

    def _train_epoch(self, shards, plan, spec, rounds, draws, hooks):
        """The epoch's rounds from FitState.step on (a resumed run skips those done before
        its checkpoint); the epoch's mean logs. draws: the Dropout draws of a step (draws.py),
        by which lamina's generator moves on each step, as in model.fit."""
        state = self.model.fit_state
        epoch = state.epoch
        for index, (first, count) in enumerate(rounds):
            if first < state.step:
                continue
            hooks.on_train_batch_begin(first)
            task = {"spec": spec, "plan": plan, "epoch": epoch, "first": first, "count": count,
                    "step": first, "round": epoch * len(rounds) + index,
                    "rng": step_states(draws, plan, epoch, first, count),
                    "owner": type(self).__name__}
            steps = self._round_function()(self.model, self.engine, shards, task)
            for sums, rows in steps:  # added step by step, as fit does
                state.add_sums(sums, rows)
            state.step = first + count
            hooks.on_train_batch_end(first + count - 1, state.means())
            if self.model.stop_training:
                break
        return state.means()

    def _round_function(self):
        if self.aggregation == "barrier":
            return barrier_round
        return step_round if self.sync == "step" else local_round

    # -- evaluation ------------------------------------------------------------------------
    def _validate(self, validation, spec, batch_size):
        if validation[0] == "arrays":
            _, x, y = validation
            return self.model.evaluate(x, y, batch_size=max(batch_size, 256))
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
