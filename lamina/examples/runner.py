"""What every example shares: its command line, the training run, and the report at the end.

Each example supplies a model builder, a data loader and its default hyper-parameters;
``run`` parses ``--epochs --batch-size --lr --data-dir --save --plot --seed --limit
--validation-split --verbose``, trains with fit, prints the test accuracy and, if asked,
saves the model and a PNG of the training curves.
"""

import argparse
import time

import numpy as np

from lamina.threads import blas_threads


def parse_args(description, argv, epochs, batch_size, lr, validation_split=0.1, data=True,
               threads=None):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--epochs", type=int, default=epochs, help=f"passes over the training "
                        f"set (default {epochs})")
    parser.add_argument("--batch-size", type=int, default=batch_size,
                        help=f"examples per step (default {batch_size})")
    parser.add_argument("--lr", type=float, default=lr, help=f"learning rate (default {lr})")
    if data:
        parser.add_argument("--data-dir", default=None,
                            help="folder holding the dataset files (default: the cache "
                                 "folder, downloading what is missing)")
    parser.add_argument("--save", metavar="PATH", default=None,
                        help="write the trained model to PATH (load with lamina.load_model)")
    parser.add_argument("--plot", metavar="PNG", default=None,
                        help="write the training curves to PNG (needs lamina[plot])")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--limit", type=int, default=None,
                        help="train on the first LIMIT training examples only (quick runs)")
    parser.add_argument("--validation-split", type=float, default=validation_split,
                        help=f"fraction of the training set held out for validation "
                             f"(default {validation_split}; 0 for none)")
    parser.add_argument("--verbose", default="auto", choices=("auto", "0", "1", "2"),
                        help="progress output: auto (bar on a terminal), 0, 1 or 2")
    parser.add_argument("--threads", type=int, default=threads,
                        help="BLAS threads for training and testing (default: "
                             + ("NumPy's, one per core)" if threads is None else f"{threads})"))
    return parser.parse_args(argv)


def run(args, model, optimizer, data, name):
    """Train `model` on data = ((x_train, y_train), (x_test, y_test)); returns the test metrics."""
    (x_train, y_train), (x_test, y_test) = data
    if args.limit is not None:
        x_train, y_train = x_train[:args.limit], y_train[:args.limit]
    model.compile(loss="cross_entropy", optimizer=optimizer, metrics=["accuracy"])
    print(f"{name}: training on {len(x_train)} examples, testing on {len(x_test)}.")
    verbose = args.verbose if args.verbose == "auto" else int(args.verbose)
    with blas_threads(args.threads):
        start = time.perf_counter()
        history = model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
                            validation_split=args.validation_split, verbose=verbose)
        seconds = time.perf_counter() - start
        result = model.evaluate(x_test, y_test)
    per_epoch = seconds / max(args.epochs, 1)
    print(f"Test accuracy: {result['accuracy']:.4f}  (test loss {result['loss']:.4f}; "
          f"trained in {seconds:.1f}s, {per_epoch:.1f}s per epoch)")
    if args.save:
        model.save(args.save)
        print(f"Saved the model to {args.save}")
    if args.plot:
        from lamina import plot

        plot.history(history, path=args.plot, title=name)
        print(f"Saved the training curves to {args.plot}")
    result["seconds"] = seconds
    result["history"] = history.history
    return result


def standardize(images, mean, std, channels=1):
    """uint8 images -> float32 (N, C, H, W) with (x / 255 - mean) / std per channel.

    (N, H, W) grayscale gains its channel axis; mean/std are scalars or one per channel.
    """
    x = np.asarray(images, dtype=np.float32) / np.float32(255.0)
    if x.ndim == 3:
        x = x[:, None]
    mean = np.asarray(mean, dtype=np.float32).reshape(1, -1, 1, 1)
    std = np.asarray(std, dtype=np.float32).reshape(1, -1, 1, 1)
    return (x - mean) / std


def load_mnist_family(loader, args, mean, std):
    """((x, y), (x_test, y_test)) of a MNIST-format loader, standardized to (N, 1, 28, 28)."""
    (x_train, y_train), (x_test, y_test) = loader(path=args.data_dir)
    return (standardize(x_train, mean, std), y_train), (standardize(x_test, mean, std), y_test)
