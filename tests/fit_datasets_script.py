"""A seeded run on memory-mapped .npy files that test_fit_datasets.py kills and resumes.

    python fit_datasets_script.py OUT.json [--checkpoint PATH] [--kill-at EPOCH STEP]

Saves 300 digits as .npy files next to OUT.json, then trains an MLP with Dropout and Adam
for 3 epochs on Dataset.from_npy(...).shuffle().map(noise).batch(32).prefetch(2), where the
noise is drawn from lamina's generator; checkpointing every 3 steps when --checkpoint is
given, resuming from that file if it exists. --kill-at sends SIGKILL to itself at the end of
that step. Writes OUT.json: a SHA-256 of the final weights and the History.
"""

import argparse
import hashlib
import json
import pathlib

import numpy as np

import lamina
from lamina import layers as L
from lamina.backend import get_rng
from lamina.data import Dataset
from lamina.datasets import load_digits
from tests.callbacks.resume_script import KillAt  # the repository root is on PYTHONPATH


def noise(x, y):
    return x + get_rng().normal(0.0, 0.05, x.shape).astype(x.dtype), y


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--checkpoint")
    parser.add_argument("--kill-at", nargs=2, type=int)
    args = parser.parse_args()
    folder = pathlib.Path(args.out).parent
    (x, y), _ = load_digits()
    np.save(folder / "x.npy", (x.reshape(len(x), -1) / 16.0).astype(np.float32)[:300])
    np.save(folder / "y.npy", y[:300])
    lamina.seed(0)
    model = lamina.Sequential([L.Linear(64, 32), L.ReLU(), L.Dropout(0.3), L.Linear(32, 10)])
    model.compile(loss="cross_entropy", optimizer="adam", metrics=["accuracy"])
    data = Dataset.from_npy((folder / "x.npy", folder / "y.npy")).shuffle().map(noise) \
        .batch(32).prefetch(2)
    callbacks = [KillAt(*args.kill_at)] if args.kill_at else []
    settings = dict(checkpoint=args.checkpoint, checkpoint_freq=3, resume=True) \
        if args.checkpoint else {}
    history = model.fit(data, epochs=3, verbose=2, callbacks=callbacks, **settings)
    digest = hashlib.sha256(b"".join(w.tobytes() for w in model.get_weights())).hexdigest()
    pathlib.Path(args.out).write_text(json.dumps({"weights": digest,
                                                  "history": history.history}))


if __name__ == "__main__":
    main()
