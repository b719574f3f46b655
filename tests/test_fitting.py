"""lamina.fitting: the one fit loop, its argument checks and FitState, driven by fake epochs
here (Trainable.fit and DistributedTrainer.fit drive it in test_training*.py and
tests/distributed)."""

import io

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.callbacks import BackupAndRestore, Callback
from lamina.callbacks.progress import ProgressLogger
from lamina.distributed import DistributedTrainer, LocalEngine
from lamina.errors import ConfigError
from lamina.fitting import FitState, check_fit_arguments, run_fit


def model():
    lamina.seed(0)
    return lamina.Sequential([L.Linear(4, 3)]).compile(loss="cross_entropy")


GOOD = {"epochs": 2, "batch_size": 8, "shuffle": True, "verbose": 0, "callbacks": None}


@pytest.mark.parametrize("name, value, message", [
    ("epochs", -1, "epochs as an int >= 0. Received: epochs=-1"),
    ("epochs", 2.0, "epochs as an int >= 0. Received: epochs=2.0"),
    ("batch_size", 0, "batch_size as an int >= 1. Received: batch_size=0"),
    ("shuffle", 1, r"shuffle as a bool \(True or False\). Received: shuffle=1"),
    ("verbose", 3, "verbose as an int in \\[0, 2\\] or 'auto'. Received: verbose=3"),
    ("callbacks", "stop", "callbacks as a list of lamina.callbacks.Callback instances, or None"),
    ("callbacks", [print], r"callbacks as lamina.callbacks.Callback instances. Received: "
                           r"callbacks\[0\]=<built-in"),
    ("initial_epoch", -2, "initial_epoch as an int >= 0"),
    ("validation_split", 1.0, "validation_split as a finite real number in \\[0, 1\\)"),
    ("checkpoint_freq", 0, "checkpoint_freq as an int >= 1 or 'epoch'"),
    ("checkpoint", "", "checkpoint as a file path"),
    ("resume", "yes", "resume as a bool"),
])
def test_each_bad_argument_is_a_config_error_naming_it(name, value, message):
    with pytest.raises(ConfigError, match=f"^Trainer.fit expects {message}"):
        check_fit_arguments("Trainer.fit", **{**GOOD, name: value})


def test_resume_needs_a_checkpoint():
    with pytest.raises(ConfigError, match=r"Trainer.fit\(resume=True\) needs the checkpoint "
                                          r"path.*resumes from the file given as checkpoint="):
        check_fit_arguments("Trainer.fit", **GOOD, resume=True)


def test_good_arguments_come_back_converted():
    given = check_fit_arguments("fit", epochs=np.int64(3), batch_size=np.int32(4),
                                shuffle=np.bool_(False), verbose="auto", callbacks=())
    assert (given.epochs, given.batch_size, given.shuffle) == (3, 4, False)
    assert type(given.epochs) is int and given.shuffle is False and given.callbacks == []


@pytest.mark.parametrize("fit", ["local", "distributed"])
def test_both_fits_check_their_common_arguments_with_the_same_message(fit):
    net, x, y = model(), np.zeros((6, 4)), np.arange(6) % 3
    trainer = net.fit if fit == "local" else DistributedTrainer(net, LocalEngine(2)).fit
    with pytest.raises(ConfigError, match=r"fit expects shuffle as a bool \(True or False\). "
                                          r"Received: shuffle=1$"):
        trainer(x, y, shuffle=1, verbose=0)
    with pytest.raises(ConfigError, match=r"fit expects callbacks as lamina.callbacks.Callback "
                                          r"instances. Received: callbacks\[0\]=<object"):
        trainer(x, y, callbacks=[object()], verbose=0)


class Recorder(Callback):
    def __init__(self, log, name):
        self.log, self.name = log, name

    def on_train_begin(self, logs=None):
        self.log.append((self.name, "begin", self.model.fit_state.epoch))

    def on_epoch_end(self, epoch, logs=None):
        self.log.append((self.name, "epoch", epoch, dict(logs), len(self.model.history.epoch)))

    def on_train_end(self, logs=None):
        self.log.append((self.name, "end"))


PARAMS = {"epochs": 3, "steps": 1, "batch_size": 4, "samples": 4, "verbose": 0}


def fake_epoch(net, losses):
    """An epoch of one step logging the next of `losses` (None: end training at once)."""
    def train_epoch(hooks):
        loss = losses.pop(0)
        if loss is None:
            return None
        net.fit_state.add({"loss": loss}, 4)
        return net.fit_state.means()
    return train_epoch


def test_the_loop_runs_the_epochs_with_the_callbacks_in_order_and_the_checkpoint_last():
    net, log = model(), []
    history = run_fit(net, 3, fake_epoch(net, [3.0, 2.0, 1.0]), lambda: {"loss": 9.0},
                      callbacks=[Recorder(log, "user")], progress=ProgressLogger(0),
                      checkpoints=[Recorder(log, "checkpoint")], params=PARAMS, data="data",
                      initial_epoch=1)
    assert log[:2] == [("user", "begin", 1), ("checkpoint", "begin", 1)]
    # the checkpoint sees the epoch after History has recorded it, the user's callback before
    assert log[2:6] == [("user", "epoch", 1, {"loss": 3.0, "val_loss": 9.0}, 0),
                        ("checkpoint", "epoch", 1, {"loss": 3.0, "val_loss": 9.0}, 1),
                        ("user", "epoch", 2, {"loss": 2.0, "val_loss": 9.0}, 1),
                        ("checkpoint", "epoch", 2, {"loss": 2.0, "val_loss": 9.0}, 2)]
    assert log[6:] == [("user", "end"), ("checkpoint", "end")]
    assert history is net.history and history.epoch == [1, 2]
    assert history.history == {"loss": [3.0, 2.0], "val_loss": [9.0, 9.0]}
    assert net.fit_state.data is None and net.fit_state.callbacks is None


def test_stop_training_ends_after_the_epoch_and_none_ends_at_once():
    net, log = model(), []

    class Stop(Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = epoch == 0

    history = run_fit(net, 3, fake_epoch(net, [3.0, 2.0]), callbacks=[Stop()],
                      progress=ProgressLogger(0), params=PARAMS)
    assert history.epoch == [0]
    history = run_fit(net, 3, fake_epoch(net, [3.0, None, 1.0]),
                      callbacks=[Recorder(log, "user")], progress=ProgressLogger(0),
                      params=PARAMS)
    assert history.epoch == [0] and [entry[1] for entry in log] == ["begin", "epoch", "end"]


def test_the_fit_state_is_dropped_when_an_epoch_raises():
    net = model()

    def crash(hooks):
        raise RuntimeError("crash")

    with pytest.raises(RuntimeError, match="crash"):
        run_fit(net, 1, crash, callbacks=[], progress=ProgressLogger(0), params=PARAMS,
                data=(np.zeros(3),))
    assert net.fit_state.data is None and net.fit_state.callbacks is None


def test_fit_state_adds_means_and_sums_alike():
    by_means, by_sums = FitState(0, None, []), FitState(0, None, [])
    for loss, count in ((0.1, 8), (0.7, 5)):
        by_means.add({"loss": np.float32(loss)}, count)
        by_sums.add_sums({"loss": float(np.float32(loss)) * count}, count)
    assert by_means.means() == by_sums.means()
    assert by_means.means()["loss"] == (float(np.float32(0.1)) * 8
                                        + float(np.float32(0.7)) * 5) / 13
    by_means.next_epoch()
    assert by_means.means() == {} and by_means.epoch == 1


def test_distributed_fit_refuses_backup_and_restore(tmp_path):
    trainer = DistributedTrainer(model(), LocalEngine(2))
    with pytest.raises(ConfigError, match=r"DistributedTrainer.fit checkpoints the driver with "
                                          r"checkpoint=path.*BackupAndRestore is for model.fit"):
        trainer.fit(np.zeros((6, 4)), np.arange(6) % 3, verbose=0,
                    callbacks=[BackupAndRestore(tmp_path / "run.ckpt")])


def test_distributed_fit_prints_the_same_progress_as_fit(monkeypatch):
    x, y = np.random.default_rng(0).standard_normal((12, 4)), np.arange(12) % 3
    outputs = []
    for fit in ("local", "distributed"):
        stream = io.StringIO()
        monkeypatch.setattr(f"lamina.{'fitting' if fit == 'local' else 'distributed.trainer'}"
                            f".ProgressLogger", lambda verbose: ProgressLogger(verbose,
                                                                               stream=stream))
        net = model()
        if fit == "local":
            net.fit(x, y, epochs=2, batch_size=12, shuffle=False, verbose=2)
        else:
            DistributedTrainer(net, LocalEngine(1), seed=0).fit(x, y, epochs=2, batch_size=12,
                                                                shuffle=False, verbose=2)
        outputs.append([line.split()[:2] for line in stream.getvalue().splitlines()])
    assert outputs[0] == outputs[1] and outputs[0][0] == ["epoch", "loss"]
    assert [row[0] for row in outputs[0][1:]] == ["1/2", "2/2"]
