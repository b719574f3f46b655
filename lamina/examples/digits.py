"""Train a small CNN on the embedded 8x8 digits: ``python -m lamina.examples.digits``.

Needs no network: the data ships inside the package. Reaches about 98.5% test accuracy
(98.3-98.9% over seeds 0-5) in about five seconds on two CPU cores.
"""

import argparse
import time

import numpy as np

import lamina
from lamina import layers as L
from lamina.datasets import load_digits


def build_model():
    """conv16-ReLU, conv32-ReLU, maxpool 2, dense 64-ReLU, dense 10 (logits)."""
    return lamina.Sequential([
        L.Conv2D(1, 16, 3, padding=1), L.ReLU(),
        L.Conv2D(16, 32, 3, padding=1), L.ReLU(), L.MaxPool2D(2),
        L.Flatten(), L.Linear(32 * 4 * 4, 64), L.ReLU(), L.Dropout(0.2),
        L.Linear(64, 10),
    ], name="digits_cnn")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2))
    args = parser.parse_args(argv)

    lamina.seed(args.seed)
    (x_train, y_train), (x_test, y_test) = load_digits()
    # 8x8 images with ink 0..16 -> (N, 1, 8, 8) floats in [0, 1]
    x_train = (x_train[:, None] / 16.0).astype(np.float32)
    x_test = (x_test[:, None] / 16.0).astype(np.float32)

    model = build_model()
    model.compile(loss="cross_entropy", optimizer=lamina.optim.Adam(lr=args.lr),
                  metrics=["accuracy"])
    print(f"Training on {len(x_train)} digits, testing on {len(x_test)}.")
    start = time.perf_counter()
    model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
              validation_split=0.1, verbose=args.verbose)
    seconds = time.perf_counter() - start
    result = model.evaluate(x_test, y_test)
    print(f"Test accuracy: {result['accuracy']:.4f}  (test loss {result['loss']:.4f}, "
          f"trained in {seconds:.1f}s)")
    return result


if __name__ == "__main__":
    main()
