import os

import numpy as np
import pytest

from lamina import layers as L
from lamina.callbacks import History
from lamina.errors import ConfigError

pytest.importorskip("matplotlib", reason="lamina.plot needs the 'plot' extra")
from lamina import plot  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def make_history():
    history = History()
    for epoch, (loss, acc) in enumerate([(1.0, 0.5), (0.6, 0.7), (0.4, 0.8)]):
        history.record(epoch, {"loss": loss, "accuracy": acc, "val_loss": loss + 0.1,
                               "val_accuracy": acc - 0.05})
    return history


def test_history_plots_one_panel_per_metric_with_train_and_validation(tmp_path):
    path = tmp_path / "curves.png"
    figure = plot.history(make_history(), path=path, title="run")
    assert [axes.get_title() for axes in figure.axes] == ["loss", "accuracy"]
    lines = figure.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["train", "validation"]
    np.testing.assert_array_equal(lines[0].get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(lines[1].get_ydata(), [1.1, 0.7, 0.5])
    assert path.read_bytes().startswith(PNG_SIGNATURE)
    assert os.listdir(tmp_path) == ["curves.png"]  # no temporary file left behind


def test_history_accepts_the_dict_and_rejects_nothing():
    assert len(plot.history({"loss": [3.0, 2.0]}).axes) == 1
    with pytest.raises(ConfigError, match="plot.history expects a History"):
        plot.history({})


@pytest.mark.parametrize("channels, tiles", [(1, 6), (3, 6), (4, 24)])
def test_filters_grid(tmp_path, channels, tiles):
    conv = L.Conv2D(channels, 6, 3)
    figure = plot.filters(conv, path=tmp_path / "f.png")
    assert len(figure.axes) == tiles
    assert (tmp_path / "f.png").read_bytes().startswith(PNG_SIGNATURE)


def test_filters_needs_a_convolution():
    with pytest.raises(ConfigError, match=r"weight \(F, C, KH, KW\)"):
        plot.filters(L.Linear(3, 4))


def monitor_records():
    return [{"epoch": 0, "step": step, "layer": layer, "statistic": statistic,
             "value": value * (step + 1)}
            for step in (0, 5) for layer, statistic, value in
            (("relu", "zeros", 0.1), ("relu", "dead", 0.2), ("fc.weight", "grad_norm", 1.0),
             ("fc2.weight", "grad_norm", 2.0))]


def test_monitor_plots_one_panel_per_statistic_with_layers_as_lines(tmp_path):
    figure = plot.monitor(monitor_records(), path=tmp_path / "m.png")
    assert [axes.get_title() for axes in figure.axes] == ["zeros", "dead", "grad_norm"]
    lines = figure.axes[2].get_lines()
    assert [line.get_label() for line in lines] == ["fc.weight", "fc2.weight"]
    np.testing.assert_array_equal(lines[1].get_xdata(), [0, 5])
    np.testing.assert_array_equal(lines[1].get_ydata(), [2.0, 12.0])
    assert figure.axes[2].get_yscale() == "log" and figure.axes[0].get_yscale() == "linear"
    assert (tmp_path / "m.png").read_bytes().startswith(PNG_SIGNATURE)
    assert len(plot.monitor(monitor_records(), statistics=["dead"]).axes) == 1


def test_monitor_plot_rejects_nothing_recorded_and_unknown_statistics():
    with pytest.raises(ConfigError, match="plot.monitor expects a Monitor"):
        plot.monitor([])
    with pytest.raises(ConfigError, match=r"among those recorded, \['zeros', 'dead', "):
        plot.monitor(monitor_records(), statistics=["saturated"])


def test_saliency_and_grad_cam_show_each_image_above_its_map(tmp_path):
    x = np.random.default_rng(0).standard_normal((3, 1, 8, 8))
    figure = plot.saliency(x, x * 2, path=tmp_path / "s.png", labels=[4, 5, 6])
    assert len(figure.axes) == 6 and figure.axes[0].get_title() == "4"
    image = figure.axes[1].get_images()[0].get_array()
    heat = np.abs(x[0, 0])
    np.testing.assert_allclose(image, (heat - heat.min()) / (heat.max() - heat.min()))
    figure = plot.grad_cam(x, np.ones((3, 4, 4)), path=tmp_path / "c.png")
    assert len(figure.axes) == 6 and len(figure.axes[1].get_images()) == 2
    for name in ("s.png", "c.png"):
        assert (tmp_path / name).read_bytes().startswith(PNG_SIGNATURE)
    with pytest.raises(ConfigError, match=r"plot.grad_cam expects .*maps.shape=\(3, 1, 8, 8\)"):
        plot.grad_cam(x, x)


def test_feature_maps_grid(tmp_path):
    maps = np.random.default_rng(0).standard_normal((2, 5, 4, 4))
    figure = plot.feature_maps(maps, path=tmp_path / "f.png", columns=4)
    assert len(figure.axes) == 5
    assert (tmp_path / "f.png").read_bytes().startswith(PNG_SIGNATURE)
    with pytest.raises(ConfigError, match=r"maps.shape=\(2, 5\)"):
        plot.feature_maps(np.zeros((2, 5)))


def test_confusion_matrix_from_labels_counts_and_normalizes(tmp_path):
    from lamina import metrics

    y_true, y_pred = np.array([0, 1, 2, 2, 2]), np.array([0, 2, 2, 1, 2])
    figure = plot.confusion_matrix((y_true, y_pred), labels=["a", "b", "c"],
                                   path=tmp_path / "cm.png")
    axes = figure.axes[0]
    assert [text.get_text() for text in axes.texts] == ["1", "0", "0", "0", "0", "1", "0", "1",
                                                        "2"]
    assert [tick.get_text() for tick in axes.get_xticklabels()] == ["a", "b", "c"]
    assert axes.get_xlabel() == "predicted" and axes.get_ylabel() == "true"
    assert (tmp_path / "cm.png").read_bytes().startswith(PNG_SIGNATURE)
    counted = metrics.ConfusionMatrix()
    counted.update_state(y_true, np.eye(3)[y_pred])
    rows = plot.confusion_matrix(counted, normalize="true").axes[0].texts
    assert [text.get_text() for text in rows][6:] == ["0.00", "0.33", "0.67"]
    columns = plot.confusion_matrix(counted.result(), normalize="pred").axes[0].texts
    assert [text.get_text() for text in columns][2::3] == ["0.00", "0.33", "0.67"]


def test_confusion_matrix_draws_into_given_axes_and_refuses_bad_input():
    figure = plot._figure()
    axes = figure.add_subplot(1, 2, 2)
    assert plot.confusion_matrix(np.array([[3, 1], [0, 2]]), ax=axes) is figure
    assert [text.get_text() for text in axes.texts] == ["3", "1", "0", "2"]
    with pytest.raises(ConfigError, match=r"square matrix of counts \(C, C\).*shape \(2, 3\)"):
        plot.confusion_matrix(np.zeros((2, 3)))
    with pytest.raises(ConfigError, match=r"one label per class \(2\). Received: 3 labels"):
        plot.confusion_matrix(np.eye(2), labels=["a", "b", "c"])
    with pytest.raises(ConfigError, match=r"normalize as one of None, 'true', 'pred', 'all'"):
        plot.confusion_matrix(np.eye(2), normalize="rows")
