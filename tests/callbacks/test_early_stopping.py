import numpy as np
import pytest

from lamina.callbacks import EarlyStopping
from lamina.errors import ConfigError

from .conftest import drive


def test_stops_after_patience_epochs_without_improvement(fake_model):
    stopper = EarlyStopping(patience=2)
    run = drive(stopper, fake_model, [1.0, 0.8, 0.9, 0.85, 0.7, 0.6])
    assert run == [0, 1, 2, 3] and stopper.stopped_epoch == 3 and stopper.best == 0.8


def test_min_delta_max_mode_baseline_and_start_epoch(fake_model):
    assert drive(EarlyStopping(monitor="val_accuracy", patience=1, min_delta=0.05), fake_model,
                 [0.5, 0.52, 0.9], key="val_accuracy") == [0, 1]
    fake_model.stop_training = False
    assert drive(EarlyStopping(patience=2, baseline=0.5), fake_model, [0.9, 0.8, 0.7]) == [0, 1]
    fake_model.stop_training = False
    assert drive(EarlyStopping(patience=0, start_from_epoch=2), fake_model,
                 [1.0, 2.0, 3.0, 4.0]) == [0, 1, 2, 3]


def test_restore_best_weights_at_an_early_stop_and_at_the_end(fake_model):
    drive(EarlyStopping(patience=1, restore_best_weights=True), fake_model,
          [1.0, 0.5, 0.7, 0.2], weights=[10, 11, 12, 13])
    np.testing.assert_array_equal(fake_model.weights[0], [11, 11])
    fake_model.stop_training = False
    drive(EarlyStopping(patience=5, restore_best_weights=True), fake_model,
          [1.0, 0.5, 0.7], weights=[10, 11, 12])
    np.testing.assert_array_equal(fake_model.weights[0], [11, 11])


def test_restores_real_model_weights(regression):
    model, x, y = regression
    snapshots = []

    class Snapshot(EarlyStopping):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append((logs["val_loss"], model.get_weights()))
            super().on_epoch_end(epoch, logs)

    model.compile(loss="mse", optimizer="sgd")
    model.optimizer.lr = 0.3  # large enough to oscillate now and then
    model.fit(x, y, epochs=8, batch_size=8, validation_split=0.25, verbose=0,
              callbacks=[Snapshot(patience=8, restore_best_weights=True)])
    best = min(snapshots, key=lambda item: item[0])[1]
    for ours, theirs in zip(model.get_weights(), best):
        np.testing.assert_array_equal(ours, theirs)


def test_bad_patience():
    with pytest.raises(ConfigError, match="patience as an int >= 0. Received: patience=-1"):
        EarlyStopping(patience=-1)


@pytest.mark.parametrize("verbose", [0, 1])
def test_verbose_prints_keras_lines_for_the_stop_and_the_restore(fake_model, capsys, verbose):
    drive(EarlyStopping(patience=1, restore_best_weights=True, verbose=verbose), fake_model,
          [1.0, 0.5, 0.7, 0.2], weights=[10, 11, 12, 13])
    expected = ("Epoch 3: early stopping\n"
                "Restoring model weights from the end of the best epoch: 2.\n")
    assert capsys.readouterr().out == (expected if verbose else "")
