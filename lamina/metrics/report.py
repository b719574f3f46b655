"""classification_report: precision, recall, F1 and support per class, then the accuracy and
the macro and weighted averages, as scikit-learn's (the same text, or the same dict)."""

import numpy as np

from lamina.errors import ConfigError
from lamina.metrics.confusion import (ConfusionMatrix, averaged, class_counts, f1_score,
                                      precision_score, recall_score)
from lamina.metrics.inputs import class_pairs, sample_weights

__all__ = ["classification_report"]

HEADERS = ("precision", "recall", "f1-score", "support")
SCORES = (precision_score, recall_score, f1_score)


def classification_report(y_true, y_pred, target_names=None, sample_weight=None, digits=2,
                          output_dict=False):
    """sklearn.metrics.classification_report for the classes seen in y_true or y_pred.

    y_true: class ids (N,), (N, 1), or rows (N, C); y_pred: scores (N, C), one score per row
    (N,) / (N, 1) of a float dtype (class 1 where > 0.5), or predicted class ids of an integer
    dtype. target_names: one name per class listed (those seen, in order of id). Ratios with
    a zero denominator are 0.0. Returns the text, or with output_dict=True
    {name: {"precision", "recall", "f1-score", "support"}, "accuracy": float,
    "macro avg": {...}, "weighted avg": {...}} (floats).
    """
    where = "classification_report"
    labels, predicted, classes = class_pairs(where, y_true, y_pred)
    counter = ConfusionMatrix(classes)
    counter.add(labels, predicted, classes, sample_weights(where, sample_weight, len(labels)))
    matrix = counter.result()
    tp, fp, fn, support = class_counts(matrix)
    listed = np.flatnonzero((support + matrix.sum(axis=0)) > 0)
    if target_names is None:
        target_names = [str(k) for k in listed]
    elif len(target_names) != len(listed):
        raise ConfigError(f"{where} expects one target name per class seen, {listed.tolist()}. "
                          f"Received: {len(target_names)} target_names")
    if sample_weight is None:  # whole counts print as integers, as scikit-learn's
        support = support.astype(np.int64)
    per_class = [score(tp, fp, fn)[listed] for score in SCORES]
    rows = [(str(name), *(float(values[i]) for values in per_class), support[k])
            for i, (name, k) in enumerate(zip(target_names, listed))]
    total = support[listed].sum()
    averages = [(heading, *(averaged(where, matrix, score, average) for score in SCORES), total)
                for heading, average in (("accuracy", "micro"), ("macro avg", "macro"),
                                         ("weighted avg", "weighted"))]
    if output_dict:
        report = {row[0]: dict(zip(HEADERS, map(float, row[1:]))) for row in rows}
        report.update((row[0], dict(zip(HEADERS, map(float, row[1:])))) for row in averages)
        report["accuracy"] = report["accuracy"]["precision"]
        return report
    width = max(max(len(row[0]) for row in rows), len("weighted avg"), digits)
    text = "{:>{width}s} ".format("", width=width) + "".join(f" {h:>9}" for h in HEADERS)
    text += "\n\n"
    row_format = "{:>{width}s} " + " {:>9.{digits}f}" * 3 + " {:>9}\n"
    for row in rows:
        text += row_format.format(*row, width=width, digits=digits)
    text += "\n"
    accuracy_row = averages[0]
    text += ("{:>{width}s} " + " {:>9}" * 2 + " {:>9.{digits}f} {:>9}\n").format(
        accuracy_row[0], "", "", accuracy_row[3], accuracy_row[4], width=width, digits=digits)
    for row in averages[1:]:
        text += row_format.format(*row, width=width, digits=digits)
    return text
