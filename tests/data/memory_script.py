"""Train one epoch on a .npy training set; print the RSS before training and the peak.

    python memory_script.py X.npy Y.npy from_npy|memmap_array

from_npy trains on Dataset.from_npy((X, Y)).shuffle().batch(256).prefetch(2); memmap_array
on the same file opened by np.load(mmap_mode="r") and given as arrays (the pages it reads
stay resident). Prints JSON: {"baseline": bytes resident after importing numpy and lamina
and a first tiny fit, "peak": the process's peak resident size (VmHWM), "steps"}.
"""

import json
import sys

import numpy as np

import lamina
from lamina import layers as L
from lamina.data import Dataset


def resident(field="VmRSS"):
    """Bytes resident now (VmRSS) or at the peak (VmHWM) of this process's memory. Not
    ru_maxrss: Linux keeps it across exec, so it would count the parent that forked us."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith(f"{field}:"))
    return int(line.split()[1]) * 1024


def main(x_path, y_path, how):
    lamina.seed(0)
    features = np.load(x_path, mmap_mode="r").shape[1]
    model = lamina.Sequential([L.Linear(features, 2)]).compile(loss="cross_entropy",
                                                              optimizer="sgd")
    model.fit(np.zeros((256, features), np.float32), np.zeros(256, np.int64), batch_size=256,
              verbose=0)
    baseline, warm_up = resident(), model.optimizer.iterations
    if how == "from_npy":
        model.fit(Dataset.from_npy((x_path, y_path)).shuffle().batch(256).prefetch(2), verbose=0)
    else:
        model.fit(np.load(x_path, mmap_mode="r"), np.load(y_path), batch_size=256, verbose=0)
    peak = resident("VmHWM")
    steps = model.optimizer.iterations - warm_up
    print(json.dumps({"baseline": baseline, "peak": peak, "steps": steps}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
