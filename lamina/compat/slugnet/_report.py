"""What slugnet's Model.fit prints: a grid table of the epoch's statistics, and a progress bar.

Every ``log_interval`` epochs (counted from 0, as slugnet's) fit prints to stdout

    +------------+---------+--------+------------+
    | run        |   epoch |   loss |   accuracy |
    +============+=========+========+============+
    | train      |       0 | 0.3153 |     0.9107 |
    +------------+---------+--------+------------+
    | validation |       0 | 0.1914 |     0.9432 |
    +------------+---------+--------+------------+

with one column per name in the Model's ``metrics``. With ``progress=True`` a bar of the
epoch's batches is drawn in place on stderr while it is a terminal (elsewhere, in logs,
only the tables are written).
"""

import sys
import time

from lamina.callbacks import Callback
from lamina.callbacks.progress import bar, format_seconds, format_value, is_terminal


def grid_table(header, rows):
    """A table with a frame around every cell: text left-aligned, numbers right-aligned.

    >>> print(grid_table(["run", "loss"], [["train", 0.5]]))
    +-------+--------+
    | run   |   loss |
    +=======+========+
    | train | 0.5000 |
    +-------+--------+
    """
    cells = [[str(name) for name in header]] + [
        [format_value(v) if isinstance(v, float) else str(v) for v in row] for row in rows]
    numeric = [all(not isinstance(row[i], str) for row in rows) for i in range(len(header))]
    # as the tabulate package's "grid" format: headers get two spaces of room
    widths = [max([len(cells[0][i]) + 2] + [len(line[i]) for line in cells[1:]])
              for i in range(len(header))]

    def line(values):
        return "| " + " | ".join(v.rjust(w) if right else v.ljust(w)
                                 for v, w, right in zip(values, widths, numeric)) + " |"

    def rule(fill):
        return "+" + "+".join(fill * (w + 2) for w in widths) + "+"

    out = [rule("-"), line(cells[0]), rule("=")]
    for values in cells[1:]:
        out += [line(values), rule("-")]
    return "\n".join(out)


class SlugnetReport(Callback):
    """The lamina callback behind slugnet's fit output; keeps the last epoch's statistics.

    last: {"train": {metric: value}, "val": {...}} (the value slugnet's fit returned).
    """

    def __init__(self, metrics, log_interval=1, progress=True):
        self.metrics, self.log_interval, self.progress = list(metrics), log_interval, progress
        self.last = {}

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch, self.start, self.drawn = epoch, time.perf_counter(), False

    def on_train_batch_end(self, batch, logs=None):
        stream = sys.stderr
        if not self.progress or not is_terminal(stream):
            return
        step, total = batch + 1, self.params["steps"]
        eta = (time.perf_counter() - self.start) / step * (total - step)
        stream.write(f"\r\033[KEpoch {self.epoch}: {step}/{total} {bar(step, total)}  "
                     f"ETA {format_seconds(eta)}")
        stream.flush()
        self.drawn = True

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.last = {"train": {name: logs[name] for name in self.metrics}}
        if "val_loss" in logs:
            self.last["val"] = {name: logs[f"val_{name}"] for name in self.metrics}
        if self.drawn:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
        if self.metrics and epoch % self.log_interval == 0:
            rows = [["train", epoch] + list(self.last["train"].values())]
            if "val" in self.last:
                rows.append(["validation", epoch] + list(self.last["val"].values()))
            print(grid_table(["run", "epoch"] + self.metrics, rows), flush=True)
