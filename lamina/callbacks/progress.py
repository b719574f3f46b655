"""What fit prints: a live progress bar per epoch and a table with one row per epoch.

    Epoch 3/10  21/45 [=============>................]  4210 samples/s  ETA 1s  loss 0.4123  accuracy 0.8812

is redrawn in place on a terminal; when the epoch ends it gives way to the epoch's row:

    epoch     loss  accuracy  val_loss  val_accuracy   time
     1/10   1.1032    0.6995    0.5311        0.8958   0.3s
     2/10   0.4123    0.8812    0.3120        0.9201   0.3s

verbose: 0 silent; 1 bar + table; 2 table only; "auto" (fit's default) is 1 on a terminal and
2 elsewhere (logs, CI, notebooks' captured output). verbose=1 asked for explicitly on a
non-terminal prints the bar as a plain line every 10 seconds instead of redrawing it.
Events get a line of their own (verbose 1 and 2): a resume from a checkpoint, steps
stopped at or skipped for a NaN or Inf (the first of each epoch with its diagnosis, then a
count when training ends), and an epoch after which a callback stopped training early.
"""

import sys
import time

from lamina.callbacks.base import Callback
from lamina.errors import ConfigError

BAR_WIDTH = 30
COUNTS = ("skipped",)  # logged values shown as whole numbers
HIDDEN = ("monitor/",)  # logged for History and CSVLogger, too many for the table (Monitor)


def bar(step, total, width=BAR_WIDTH):
    """'[=====>....]' for step of total."""
    done = width * step // max(total, 1)
    return "[" + "=" * done + (">" if done < width else "") + "." * max(0, width - done - 1) + "]"


def format_seconds(seconds):
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{seconds:.0f}s"
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f"{minutes}m{seconds:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


def format_value(value):
    value = float(value)
    return f"{value:.4f}" if 1e-3 <= abs(value) < 1e5 or value == 0 else f"{value:.3e}"


def is_terminal(stream):
    return bool(getattr(stream, "isatty", lambda: False)())


class ProgressLogger(Callback):
    """The callback behind fit's output (see the module docstring)."""

    def __init__(self, verbose="auto", stream=None, interval=10.0):
        self.stream = stream or sys.stdout
        self.terminal = is_terminal(self.stream)
        if verbose == "auto":
            verbose = 1 if self.terminal else 2
        if verbose not in (0, 1, 2):
            raise ConfigError(f"fit expects verbose as 0, 1, 2 or 'auto'. Received: {verbose!r}")
        self.verbose, self.interval = verbose, interval if not self.terminal else 0.1
        self.columns, self.drawn, self.skipped, self.reported_epoch = None, False, 0, None

    def _write(self, text):
        self.stream.write(text)
        self.stream.flush()

    def clear_bar(self):
        """Erase the live bar, if one is drawn, so that a line of text can take its place."""
        if self.drawn:
            self._write("\r\033[K")
            self.drawn = False

    def note(self, text):
        """Print `text` on lines of its own (erasing a live bar first); nothing at verbose=0."""
        if self.verbose == 0:
            return
        self.clear_bar()
        self._write(text.rstrip("\n") + "\n")

    def on_train_begin(self, logs=None):
        self.columns, self.drawn, self.skipped, self.reported_epoch = None, False, 0, None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch, self.start, self.drawn = epoch, time.perf_counter(), False
        self.last_draw, self.first_step = self.start, None

    def on_train_batch_nonfinite(self, batch, report):
        where = f"epoch {self.epoch + 1}/{self.params['epochs']}, step {batch + 1}/" \
                f"{self.params['steps']}"
        if report.action == "stop":
            self.note(f"Stopped training at {where}: the loss or a gradient is not finite; "
                      f"the weights are those from before this step.\n{report}")
            return
        self.skipped += 1
        if self.reported_epoch != self.epoch:
            self.reported_epoch = self.epoch
            self.note(f"Skipped {where}: the loss or a gradient is not finite (further skips "
                      f"this epoch are counted, not shown).\n{report}")

    def on_train_end(self, logs=None):
        if self.skipped:
            self.note(f"Skipped {self.skipped} step{'s' if self.skipped > 1 else ''} with a "
                      f"non-finite loss or gradient (on_nonfinite='skip'); their reports are in "
                      f"history.nonfinite.")

    def on_train_batch_end(self, batch, logs=None):
        if self.verbose != 1:
            return
        step, total = batch + 1, self.params["steps"]
        if self.first_step is None:  # a resumed epoch starts part-way
            self.first_step = batch
        now = time.perf_counter()
        if now - self.last_draw < self.interval and step < total or \
                (not self.terminal and step == total):
            return
        self.last_draw = now
        elapsed = now - self.start
        run = step - self.first_step
        samples = min(step * self.params["batch_size"], self.params["samples"]) - \
            self.first_step * self.params["batch_size"]
        eta = elapsed / run * (total - step)
        metrics = "  ".join(f"{key} {format_value(value)}" for key, value in (logs or {}).items())
        line = (f"Epoch {self.epoch + 1}/{self.params['epochs']}  {step}/{total} {bar(step, total)}"
                f"  {samples / max(elapsed, 1e-9):.0f} samples/s  ETA {format_seconds(eta)}"
                f"  {metrics}")
        self._write(f"\r\033[K{line}" if self.terminal else line + "\n")
        self.drawn = self.terminal

    def on_epoch_end(self, epoch, logs=None):
        if self.verbose == 0:
            return
        logs = {key: value for key, value in (logs or {}).items() if not key.startswith(HIDDEN)}
        elapsed = format_seconds(time.perf_counter() - self.start)
        self.clear_bar()
        epochs = self.params["epochs"]
        if self.columns is None:
            self.columns = [("epoch", max(5, 2 * len(str(epochs)) + 1))]
            self.columns += [(key, max(len(key), 9)) for key in logs]
            self.columns.append(("time", 6))
            self._write("  ".join(name.rjust(width) for name, width in self.columns) + "\n")
        cells = {"epoch": f"{epoch + 1}/{epochs}", "time": elapsed}
        cells.update({key: str(value) if key in COUNTS else format_value(value)
                      for key, value in logs.items()})
        self._write("  ".join(cells.get(name, "-").rjust(width)
                              for name, width in self.columns) + "\n")
        if self.model is not None and self.model.stop_training and epoch + 1 < epochs:
            self.note(f"Training stopped early, after epoch {epoch + 1} of {epochs} (a callback "
                      f"set model.stop_training).")
