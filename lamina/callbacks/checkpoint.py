"""ModelCheckpoint: save the model (one atomic file) every epoch or when it improves."""

import os

from lamina.callbacks.base import Callback, MonitoredQuantity
from lamina.writing import writing_to


class ModelCheckpoint(Callback):
    """Save the model to `filepath` at the end of epochs.

    filepath may hold format fields filled from the epoch (from 1) and its logs, e.g.
    "ckpt/model-{epoch:02d}-{val_loss:.3f}.lamina". With save_best_only, a file is written only
    when `monitor` improves on the best so far (so a fixed filepath always holds the best
    model). Files are written atomically by ``model.save``: a crash never leaves half a file.
    include_optimizer stores the optimizer state so training can resume from the file.
    verbose > 0 prints Keras' line for each epoch: saving, improved from, did not improve.
    """

    def __init__(self, filepath, monitor="val_loss", save_best_only=False, mode="auto",
                 include_optimizer=True, verbose=0):
        self.filepath = os.fspath(filepath)
        self.monitor = MonitoredQuantity("ModelCheckpoint", monitor, mode) if save_best_only else None
        self.save_best_only, self.include_optimizer, self.verbose = \
            save_best_only, include_optimizer, verbose
        self.best = None

    def on_train_begin(self, logs=None):
        if self.monitor is not None and self.best is None:
            self.best = self.monitor.worst

    def state_dict(self):
        return {"best": self.best}

    def load_state_dict(self, state):
        self.best = state["best"]

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        path = self.filepath.format(epoch=epoch + 1, **logs)
        if self.monitor is not None:
            current = self.monitor.value(logs)
            if not self.monitor.improved(current, self.best):
                if self.verbose:
                    self.say(f"Epoch {epoch + 1}: {self.monitor.name} did not improve from "
                             f"{self.best:.5f}")
                return
            if self.verbose:
                self.say(f"Epoch {epoch + 1}: {self.monitor.name} improved from {self.best:.5f} "
                         f"to {current:.5f}, saving model to {path}")
            self.best = current
        elif self.verbose:
            self.say(f"Epoch {epoch + 1}: saving model to {path}")
        directory = os.path.dirname(path)
        with writing_to(path, "ModelCheckpoint"):
            if directory:
                os.makedirs(directory, exist_ok=True)
            self.model.save(path, include_optimizer=self.include_optimizer)
