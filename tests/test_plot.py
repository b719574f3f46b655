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
