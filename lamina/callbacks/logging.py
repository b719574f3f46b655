"""Per-epoch logging to a CSV file, and stopping on a non-finite loss."""

import csv
import math
import os

from lamina.callbacks.base import Callback
from lamina.writing import writing_to


class CSVLogger(Callback):
    """Append one row per epoch to a CSV file: epoch (from 0), then the logged metrics.

    The columns are fixed by the first epoch's logs. append=True continues an existing file
    (no second header). Each row is flushed at once, so the file is complete up to the last
    finished epoch even if training is killed; the file is opened when the first row is
    written. Under BackupAndRestore a resumed run cuts the file back to the rows of the
    checkpoint and goes on from there, so it ends as an uninterrupted run's file.
    """

    def __init__(self, filename, separator=",", append=False):
        self.filename, self.separator, self.append = os.fspath(filename), separator, append
        self.file, self.writer, self.keys = None, None, None
        self._resume_size = None

    def on_train_begin(self, logs=None):
        self.writer, self.keys, self._resume_size = None, None, None
        self._header_written = bool(self.append and os.path.exists(self.filename)
                                    and os.path.getsize(self.filename))

    def _open(self):
        with writing_to(self.filename, "CSVLogger"):
            if self._resume_size is not None:
                os.truncate(self.filename, self._resume_size)
                mode = "a"
            else:
                mode = "a" if self.append else "w"
            self.file = open(self.filename, mode, newline="", encoding="utf-8")
        self.writer = csv.writer(self.file, delimiter=self.separator, lineterminator="\n")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.file is None:
            self._open()
        if self.keys is None:
            self.keys = sorted(logs)
        if not self._header_written:
            self.writer.writerow(["epoch"] + self.keys)
            self._header_written = True
        self.writer.writerow([epoch] + [logs.get(key, "") for key in self.keys])
        self.file.flush()

    def state_dict(self):
        """The columns and the file's size so far (None before the first row of this run)."""
        size = self.file.tell() if self.file is not None else self._resume_size
        return {"keys": self.keys, "header_written": self._header_written, "size": size}

    def load_state_dict(self, state):
        self.keys, self._header_written = state["keys"], state["header_written"]
        self._resume_size = state["size"]
        if self.file is not None:
            self.file.close()
            self.file = None

    def on_train_end(self, logs=None):
        if self.file is not None:
            self.file.close()
            self.file = None


class TerminateOnNaN(Callback):
    """Stop training at the first step whose loss or gradient is NaN or infinite.

    fit checks every step itself (on_nonfinite); with this callback its default becomes
    "stop": training ends before the bad update, the weights stay as they were, and this
    callback prints the diagnosis's first line. Outside fit (a hand-written loop calling the
    hooks) it stops when the running loss it is given is not finite.
    """

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"TerminateOnNaN: batch {batch}: the loss is {loss}; stopping training.")
            self.model.stop_training = True

    def on_train_batch_nonfinite(self, batch, report):
        print(f"TerminateOnNaN: batch {batch}: {report.summary()}; stopping training.")
        self.model.stop_training = True
