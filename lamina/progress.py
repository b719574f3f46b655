"""A one-line progress display for training: step count, running metrics, samples/s, ETA."""

import sys
import time


def _format_logs(logs):
    return " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())


class ProgressLine:
    """Redraws one line per update on a terminal; prints only the final line elsewhere.

    verbose=1: live bar (terminal) + epoch summary; verbose=2: epoch summary only; 0: silent.
    """

    def __init__(self, total_steps, epoch, epochs, verbose=1, stream=None):
        self.stream = stream or sys.stdout
        self.total, self.epoch, self.epochs, self.verbose = total_steps, epoch, epochs, verbose
        self.live = verbose == 1 and getattr(self.stream, "isatty", lambda: False)()
        self.start = time.perf_counter()
        self.last_draw = 0.0

    def update(self, step, samples, logs):
        if not self.live:
            return
        now = time.perf_counter()
        if step < self.total and now - self.last_draw < 0.1:
            return
        self.last_draw = now
        elapsed = now - self.start
        done = int(30 * step / self.total)
        eta = elapsed / step * (self.total - step) if step else 0.0
        bar = "=" * done + (">" if done < 30 else "") + "." * max(0, 29 - done)
        self.stream.write(
            f"\rEpoch {self.epoch}/{self.epochs} {step}/{self.total} [{bar}] "
            f"{samples / max(elapsed, 1e-9):.0f} samples/s - ETA {eta:.0f}s - {_format_logs(logs)}"
        )
        self.stream.flush()

    def finish(self, logs):
        if self.verbose == 0:
            return
        elapsed = time.perf_counter() - self.start
        prefix = "\r\033[K" if self.live else ""
        self.stream.write(
            f"{prefix}Epoch {self.epoch}/{self.epochs} - {elapsed:.1f}s - {_format_logs(logs)}\n"
        )
        self.stream.flush()
