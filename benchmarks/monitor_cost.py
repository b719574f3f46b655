"""``python -m benchmarks.monitor_cost``: what a Monitor(every=50) costs a LeNet-5 epoch.

Trains LeNet-5 on MNIST-sized random data (28x28, batch 32) for one epoch of `--steps` steps,
alternately without and with a Monitor, `--rounds` times each, and prints the best time of
each and the overhead; on a busy machine the difference of two timings is noisy, so it also
prints the time spent inside the Monitor's own hooks as a share of the epoch it ran in (the
median over the rounds). The cost per sample is one extra forward pass plus the statistics, so
the fraction is the same for MNIST's 1,875 steps as for the 400 steps timed by default.
"""

import argparse
import time

import numpy as np

import lamina
from lamina.callbacks import Monitor
from lamina.models import LeNet5


class TimedMonitor(Monitor):
    """A Monitor that adds up the time its batch hooks take."""

    seconds = 0.0

    def on_train_batch_begin(self, batch, logs=None):
        start = time.perf_counter()
        super().on_train_batch_begin(batch, logs)
        self.seconds += time.perf_counter() - start

    def on_train_batch_end(self, batch, logs=None):
        start = time.perf_counter()
        super().on_train_batch_end(batch, logs)
        self.seconds += time.perf_counter() - start


def epoch_seconds(x, y, monitor):
    lamina.seed(0)
    model = LeNet5()
    model.compile(loss="cross_entropy", optimizer=lamina.optim.SGD(lr=0.01, momentum=0.9))
    callbacks = [monitor] if monitor else []
    start = time.perf_counter()
    model.fit(x, y, epochs=1, batch_size=32, verbose=0, callbacks=callbacks)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400, help="steps in the epoch (default 400)")
    parser.add_argument("--rounds", type=int, default=3, help="timed epochs of each (default 3)")
    parser.add_argument("--every", type=int, default=50, help="Monitor(every=...) (default 50)")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32 * args.steps, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, len(x))
    plain, monitored, shares = [], [], []
    for _ in range(args.rounds):
        plain.append(epoch_seconds(x, y, None))
        monitor = TimedMonitor(every=args.every, verbose=0)
        monitored.append(epoch_seconds(x, y, monitor))
        shares.append(monitor.seconds / monitored[-1])
    base, cost, share = min(plain), min(monitored), float(np.median(shares))
    print(f"LeNet-5, {args.steps} steps of 32: {base:.2f}s an epoch without a Monitor, "
          f"{cost:.2f}s with Monitor(every={args.every}) ({100 * (cost - base) / base:+.1f}%); "
          f"inside the Monitor's hooks: {100 * share:.2f}% of the epoch")
    return base, cost, share


if __name__ == "__main__":
    main()
