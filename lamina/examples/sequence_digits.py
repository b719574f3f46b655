"""An LSTM reads the embedded 8x8 digits row by row: ``python -m lamina.examples.sequence_digits``.

Each image is a sequence of 8 steps of 8 pixels, (N, T=8, F=8); a 2-layer LSTM's last
output feeds a linear classifier. Needs no network: the data ships inside the package.
Reaches 98.1% test accuracy with the defaults (seed 0) in about 5 s on this project's 2-core
machine. Like the digits CNN it runs BLAS on one thread by default (--threads N to change
it): its products are too small to split, and with one thread per core a run took minutes
there while other processes were busy.
"""

import numpy as np

import lamina
from lamina import layers as L
from lamina.datasets import load_digits
from lamina.examples.runner import parse_args, run


def build_model():
    """LSTM(8 -> 64, 2 layers), its last output, dense 10 (logits)."""
    return lamina.Sequential([
        L.LSTM(8, 64, num_layers=2, return_sequences=False),
        L.Linear(64, 10),
    ], name="digits_lstm")


def load_data():
    """8x8 images with ink 0..16 -> (N, 8 rows, 8 pixels) float32 in [0, 1]."""
    (x_train, y_train), (x_test, y_test) = load_digits()
    return ((x_train / 16.0).astype(np.float32), y_train), \
        ((x_test / 16.0).astype(np.float32), y_test)


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv, epochs=30, batch_size=32, lr=5e-3,
                      data=False, threads=1)
    lamina.seed(args.seed)
    return run(args, build_model(), lamina.optim.Adam(lr=args.lr), load_data(),
               "sequence_digits")


if __name__ == "__main__":
    main()
