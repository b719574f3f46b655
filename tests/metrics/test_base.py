import numpy as np
import pytest

from lamina import metrics
from lamina.errors import ConfigError


def test_a_wrapped_callable_is_a_batch_size_weighted_mean():
    wrapped = metrics.metric(lambda outputs, y: float(np.mean(outputs)))
    wrapped.update_state(None, np.array([1.0, 1.0, 1.0]))
    wrapped.update_state(None, np.array([5.0]))
    assert wrapped.result() == (3 * 1.0 + 5.0) / 4
    copy = wrapped.fresh()
    assert copy.fn is wrapped.fn and copy.result() == 0.0
    weighted = metrics.MeanMetricWrapper(lambda outputs, y: float(np.mean(outputs)), name="m")
    weighted.update_state(None, np.array([1.0, 1.0]), sample_weight=np.array([0.5, 0.5]))
    weighted.update_state(None, np.array([4.0]), sample_weight=np.array([3.0]))
    assert weighted.result() == (1.0 * 1.0 + 4.0 * 3.0) / 4.0 and weighted.name == "m"


def test_state_is_a_copy_and_set_state_checks_its_keys():
    metric = metrics.Accuracy()
    metric.update_state([1, 0], np.eye(2)[[1, 1]])
    state = metric.get_state()
    state["total"] += 5
    assert metric.result() == 0.5  # the copy did not write through
    with pytest.raises(ConfigError, match=r"Accuracy 'accuracy'.set_state expects a dict with "
                                          r"the keys \['total', 'weight'\]. Received: \['total'\]"):
        metric.set_state({"total": np.zeros(())})
    metric.set_state({"total": np.array(3), "weight": np.array(4)})
    assert metric.state["total"].dtype == np.float64 and metric.result() == 0.75


def test_names_configs_and_repr():
    assert repr(metrics.TopKAccuracy(3)) == "TopKAccuracy(k=3, name='top3_accuracy')"
    assert metrics.Accuracy(name="acc_a").fresh().name == "acc_a"
    with pytest.raises(ConfigError, match=r"Accuracy expects name as a non-empty str or None. "
                                          r"Received: name=''"):
        metrics.Accuracy(name="")
