"""fit keeps memory flat: nothing grows per epoch but History's few numbers."""

import gc
import tracemalloc

import numpy as np

import lamina
from lamina import layers as L
from lamina.callbacks import Callback, EarlyStopping
from lamina.datasets import load_digits


class TracedMemory(Callback):
    """tracemalloc's (current, peak) bytes at the end of every epoch; the peak is per epoch.

    A full collection comes first: it also empties CPython's free lists (up to 2000 tuples
    of each size), which otherwise fill up over the first few thousand steps and read as
    growth although they are bounded.
    """

    def __init__(self):
        self.current, self.peak = [], []

    def on_epoch_begin(self, epoch, logs=None):
        tracemalloc.reset_peak()

    def on_epoch_end(self, epoch, logs=None):
        gc.collect()
        current, peak = tracemalloc.get_traced_memory()
        self.current.append(current)
        self.peak.append(peak)


def test_memory_stays_flat_over_epochs_with_validation_and_checkpoints(tmp_path):
    (x, y), _ = load_digits()
    x, y = (x.reshape(len(x), -1) / 16.0).astype(np.float32)[:384], y[:384]
    lamina.seed(0)
    model = lamina.Sequential([L.Linear(64, 32), L.BatchNorm1D(32), L.ReLU(), L.Dropout(0.2),
                               L.Linear(32, 10)])
    model.compile(loss="cross_entropy", optimizer=lamina.optim.Adam(lr=1e-3),
                  metrics=["accuracy"])
    memory = TracedMemory()
    tracemalloc.start()
    try:
        model.fit(x, y, epochs=12, batch_size=16, validation_split=0.25, verbose=0,
                  callbacks=[memory, EarlyStopping(monitor="val_loss", patience=100,
                                                   restore_best_weights=True)],
                  checkpoint=tmp_path / "run.ckpt", checkpoint_freq=7)
    finally:
        tracemalloc.stop()
    current, peak = np.array(memory.current), np.array(memory.peak)
    assert len(current) == 12
    # From epoch 3 on (Adam's moments, caches and buffers all allocated), what is still held at
    # an epoch's end grows only by History's five new floats (about 160 bytes with their list
    # slots): keeping anything per step (24 steps an epoch) would exceed 512 bytes an epoch.
    growth = (current[11] - current[3]) / 8
    assert growth < 512, f"memory held grows by {growth:.0f} bytes per epoch: {current.tolist()}"
    assert peak[4:].max() < peak[3] + 16 * 1024, peak.tolist()
