"""Augmentation, class weights and F1 on the embedded digits: ``python -m lamina.examples.digits_augmented``.

The embedded 8x8 digits made harder in the way real data often is: the training set keeps
only a quarter of the examples of the digits 0-4 (the test set stays balanced), so a plain
fit leans towards 5-9. The model starts with augmentation layers (small random shifts and
rotations, active only in training, seeded by lamina.seed), and fit weighs each class by
the inverse of its share (class_weight, as Keras), so that every class counts the same in
the loss. Precision, recall and macro F1 are computed over the whole epoch (metric objects),
and the test set's classification_report ends the run. Needs no network.
"""

import numpy as np

import lamina
from lamina import layers as L
from lamina import metrics
from lamina.examples.digits import load_data
from lamina.examples.runner import parse_args
from lamina.threads import blas_threads

RARE, KEPT = (0, 1, 2, 3, 4), 0.25  # digits 0-4 keep a quarter of their training examples


def build_model():
    """Random shift (1 pixel) and rotation (+-15 degrees), then the digits CNN."""
    return lamina.Sequential([
        L.RandomTranslation(0.125, 0.125, fill_mode="constant"),
        L.RandomRotation(15 / 360, fill_mode="constant"),
        L.Conv2D(1, 16, 3, padding=1), L.ReLU(),
        L.Conv2D(16, 32, 3, padding=1), L.ReLU(), L.MaxPool2D(2),
        L.Flatten(), L.Linear(32 * 4 * 4, 64), L.ReLU(), L.Dropout(0.2),
        L.Linear(64, 10),
    ], name="digits_augmented")


def imbalanced(x, y, seed):
    """(x, y) with only KEPT of each RARE digit's examples left."""
    rng = np.random.default_rng(seed)
    keep = ~np.isin(y, RARE) | (rng.random(len(y)) < KEPT)
    return x[keep], y[keep]


def balancing_weights(y, classes=10):
    """{class: n / (classes * count)}: every class weighs the same in total (scikit-learn's
    "balanced")."""
    counts = np.bincount(y, minlength=classes)
    return {c: len(y) / (classes * counts[c]) for c in range(classes)}


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv, epochs=30, batch_size=32, lr=2e-3,
                      validation_split=0.0, data=False, threads=1)
    lamina.seed(args.seed)
    (x_train, y_train), (x_test, y_test) = load_data()
    x_train, y_train = imbalanced(x_train, y_train, args.seed)
    if args.limit is not None:
        x_train, y_train = x_train[:args.limit], y_train[:args.limit]
    weights = balancing_weights(y_train)
    model = build_model()
    model.compile(loss="cross_entropy", optimizer=lamina.optim.Adam(lr=args.lr),
                  metrics=["accuracy", metrics.Precision(average="macro"),
                           metrics.Recall(average="macro"), metrics.F1Score(average="macro")])
    counts = np.bincount(y_train, minlength=10)
    print(f"{model.name}: {len(x_train)} training examples (per digit: {counts.tolist()}), "
          f"class weights {min(weights.values()):.2f} to {max(weights.values()):.2f}")
    verbose = args.verbose if args.verbose == "auto" else int(args.verbose)
    with blas_threads(args.threads):
        history = model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
                            class_weight=weights, verbose=verbose)
        result = model.evaluate(x_test, y_test)
        predicted = model.predict(x_test).argmax(axis=1)
    print(f"Test: accuracy {result['accuracy']:.4f}, macro precision "
          f"{result['precision']:.4f}, recall {result['recall']:.4f}, F1 {result['f1_score']:.4f}")
    print(metrics.classification_report(y_test, predicted, digits=3))
    if args.save:
        model.save(args.save)
        print(f"Saved the model to {args.save}")
    result["history"] = history.history
    return result


if __name__ == "__main__":
    main()
