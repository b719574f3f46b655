"""Per-epoch logging to a CSV file, and stopping on a non-finite loss."""

import csv
import math
import os

from lamina.callbacks.base import Callback


class CSVLogger(Callback):
    """Append one row per epoch to a CSV file: epoch (from 0), then the logged metrics.

    The columns are fixed by the first epoch's logs. append=True continues an existing file
    (no second header). Each row is flushed at once, so the file is complete up to the last
    finished epoch even if training is killed.
    """

    def __init__(self, filename, separator=",", append=False):
        self.filename, self.separator, self.append = os.fspath(filename), separator, append
        self.file, self.writer, self.keys = None, None, None

    def on_train_begin(self, logs=None):
        exists = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename)
        self.file = open(self.filename, "a" if self.append else "w", newline="", encoding="utf-8")
        self.writer, self.keys, self._header_written = None, None, bool(exists)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            self.writer = csv.writer(self.file, delimiter=self.separator, lineterminator="\n")
            if not self._header_written:
                self.writer.writerow(["epoch"] + self.keys)
        self.writer.writerow([epoch] + [logs.get(key, "") for key in self.keys])
        self.file.flush()

    def on_train_end(self, logs=None):
        if self.file is not None:
            self.file.close()
            self.file = None


class TerminateOnNaN(Callback):
    """Stop training as soon as the running training loss is NaN or infinite."""

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"TerminateOnNaN: batch {batch}: the loss is {loss}; stopping training.")
            self.model.stop_training = True
