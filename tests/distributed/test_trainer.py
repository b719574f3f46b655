"""DistributedTrainer's driver loop: checks, logs and callbacks, validation, batch norm."""

import io

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.callbacks import Callback
from lamina.distributed import DistributedTrainer, LocalEngine
from lamina.errors import ConfigError, DistributedError
from lamina.callbacks.progress import ProgressLogger
from tests.distributed.harness import conv_net, data


@pytest.mark.parametrize("options, message", [
    ({"sync": "async"}, r"sync as one of \['step', 'local'\]. Received: sync='async'"),
    ({"local_steps": 4}, "local_steps=4 needs sync='local'"),
    ({"sync": "local", "local_steps": 0}, "local_steps as an int >= 1. Received: local_steps=0"),
    ({"seed": -1}, "seed as an int >= 0"),
])
def test_bad_settings_are_config_errors(options, message):
    with pytest.raises(ConfigError, match=message):
        DistributedTrainer(conv_net(), LocalEngine(), **options)


def test_bad_fit_arguments_are_config_errors():
    x, y = data()
    trainer = DistributedTrainer(conv_net(), LocalEngine(2))
    with pytest.raises(ConfigError, match="expects labels y with NumPy inputs"):
        trainer.fit(x, verbose=0)
    with pytest.raises(ConfigError, match="batch_size as an int >= 1. Received: batch_size=0"):
        trainer.fit(x, y, batch_size=0, verbose=0)
    with pytest.raises(ConfigError, match="resume=True.*needs the checkpoint path"):
        trainer.fit(x, y, resume=True, verbose=0)
    with pytest.raises(ConfigError, match="LocalEngine trains on NumPy arrays"):
        trainer.fit("data.parquet", verbose=0)
    uncompiled = lamina.Sequential([L.Linear(4, 2)])
    with pytest.raises(ConfigError, match="must be compiled"):
        DistributedTrainer(uncompiled).fit(np.zeros((3, 4)), [0, 1, 0], verbose=0)


def test_batch_norm_in_step_mode_names_the_layer_and_the_alternatives():
    x, y = data()
    model = conv_net(norm=L.BatchNorm2D(3))
    with pytest.raises(DistributedError, match=r"BatchNorm2D 'batch_norm2d' \(layer 2\).*"
                                               r"sync='local'.*LayerNorm"):
        DistributedTrainer(model, LocalEngine(2)).fit(x, y, verbose=0)
    history = DistributedTrainer(model, LocalEngine(2), sync="local", local_steps=2).fit(
        x, y, epochs=2, verbose=0)
    assert history.history["loss"][1] < history.history["loss"][0]
    assert not np.array_equal(model.layers[2].running_mean, np.zeros(3))


class Recorder(Callback):
    def __init__(self):
        self.calls = []

    def on_train_batch_begin(self, batch, logs=None):
        self.calls.append(("begin", batch))

    def on_train_batch_end(self, batch, logs=None):
        self.calls.append(("end", batch, sorted(logs)))

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(("epoch", epoch, sorted(logs)))
        if epoch == 1:
            self.model.stop_training = True


def test_callbacks_see_one_batch_per_round_and_can_stop_training():
    x, y = data()
    recorder = Recorder()
    model = conv_net()
    history = DistributedTrainer(model, LocalEngine(2), sync="local", local_steps=2).fit(
        x, y, epochs=5, batch_size=8, validation_data=(x[:10], y[:10]), verbose=0,
        callbacks=[recorder])
    keys = ["accuracy", "loss"]
    epoch_calls = [("begin", 0), ("end", 1, keys), ("begin", 2), ("end", 3, keys),
                   ("begin", 4), ("end", 4, keys)]
    assert recorder.calls == (epoch_calls + [("epoch", 0, keys + ["val_accuracy", "val_loss"])]
                              + epoch_calls + [("epoch", 1, keys + ["val_accuracy", "val_loss"])])
    assert history.epoch == [0, 1] and model.history is history
    val = model.evaluate(x[:10], y[:10])
    assert history.history["val_loss"][1] == val["loss"]


def test_progress_prints_the_fit_table(monkeypatch):
    x, y = data()
    stream = io.StringIO()
    monkeypatch.setattr("lamina.distributed.trainer.ProgressLogger",
                        lambda verbose: ProgressLogger(verbose, stream=stream))
    DistributedTrainer(conv_net(), LocalEngine(2)).fit(x, y, epochs=2, verbose=2)
    lines = stream.getvalue().splitlines()
    assert lines[0].split() == ["epoch", "loss", "accuracy", "time"]
    assert [line.split()[0] for line in lines[1:]] == ["1/2", "2/2"]


def test_a_model_that_is_not_a_lamina_sequential_is_refused():
    with pytest.raises(ConfigError, match="expects a compiled lamina.Sequential. Received: dict"):
        DistributedTrainer({})
