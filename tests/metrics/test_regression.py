import numpy as np
import pytest

from lamina import metrics
from lamina.errors import ShapeError
from tests.metrics.cases import fed


def test_mean_errors_by_hand():
    truth, pred = np.array([[1.0, 2.0], [0.0, 0.0]]), np.array([[0.0, 2.0], [2.0, -2.0]])
    # row errors: squared 1/2 and 4; absolute 1/2 and 2
    assert fed(metrics.MeanSquaredError(), truth, pred) == (0.5 + 4.0) / 2
    assert fed(metrics.MeanAbsoluteError(), truth, pred, np.array([3.0, 1.0])) == (1.5 + 2) / 4


@pytest.mark.parametrize("shape", [(60,), (60, 1), (60, 3)])
@pytest.mark.parametrize("weighted", [False, True])
def test_mean_errors_equal_scikit_learn(shape, weighted):
    sklearn = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(1)
    truth, pred = rng.normal(size=shape), rng.normal(size=shape).astype(np.float32)
    weights = rng.random(60) if weighted else None
    for metric, reference in ((metrics.MeanSquaredError(), sklearn.mean_squared_error),
                              (metrics.MeanAbsoluteError(), sklearn.mean_absolute_error)):
        assert fed(metric, truth, pred, weights) == pytest.approx(
            reference(truth, pred, sample_weight=weights), rel=1e-12)


def test_a_column_pairs_with_a_vector_and_other_shapes_are_refused():
    assert fed(metrics.MeanSquaredError(), np.array([1.0, 2.0]), np.array([[1.0], [0.0]])) == 2.0
    with pytest.raises(ShapeError, match=r"MeanSquaredError 'mean_squared_error' expects y_true "
                                         r"and y_pred as numbers of one shape.*\(2, 2\).*\(2, 3\)"):
        metrics.MeanSquaredError().update_state(np.zeros((2, 2)), np.zeros((2, 3)))
