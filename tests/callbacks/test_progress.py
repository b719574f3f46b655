import io

import pytest

from lamina import callbacks
from lamina.callbacks.progress import ProgressLogger, bar, format_seconds, format_value
from lamina.errors import ConfigError


class Terminal(io.StringIO):
    def isatty(self):
        return True


PARAMS = {"epochs": 3, "steps": 4, "batch_size": 32, "samples": 128, "verbose": 1}


def run_epochs(logger, epochs=2, logs=None):
    logger.set_params(PARAMS)
    logger.on_train_begin()
    for epoch in range(epochs):
        logger.on_epoch_begin(epoch)
        for step in range(PARAMS["steps"]):
            logger.on_train_batch_end(step, {"loss": 0.5, "accuracy": 0.75})
        logger.on_epoch_end(epoch, logs or {"loss": 0.5, "accuracy": 0.75, "val_loss": 0.25})
    return logger.stream.getvalue()


def test_terminal_draws_a_live_bar_then_one_table_row_per_epoch():
    out = run_epochs(ProgressLogger("auto", stream=Terminal()))
    assert "4/4 [" + "=" * 30 + "]" in out and "samples/s" in out and "ETA" in out
    assert "\r\033[K" in out  # the bar is erased before the row
    rows = [line.split("\r\033[K")[-1] for line in out.split("\n")]
    assert rows[0].split() == ["epoch", "loss", "accuracy", "val_loss", "time"]
    assert rows[1].split()[:4] == ["1/3", "0.5000", "0.7500", "0.2500"]
    assert rows[2].split()[0] == "2/3"


def test_auto_off_a_terminal_is_the_table_only():
    out = run_epochs(ProgressLogger("auto", stream=io.StringIO()))
    assert "[" not in out and "\r" not in out
    assert [line.split()[0] for line in out.splitlines()] == ["epoch", "1/3", "2/3"]


def test_verbose_1_asked_off_a_terminal_prints_plain_progress_lines():
    logger = ProgressLogger(1, stream=io.StringIO(), interval=0.0)
    out = run_epochs(logger, epochs=1)
    lines = out.splitlines()
    assert "\r" not in out
    assert sum("samples/s" in line for line in lines) == 3  # the last step gives way to the row
    assert lines[-1].split()[0] == "1/3"


def test_silent_and_bad_verbose():
    assert run_epochs(ProgressLogger(0, stream=Terminal())) == ""
    with pytest.raises(ConfigError, match="verbose as 0, 1, 2 or 'auto'.*Received: 3"):
        ProgressLogger(3)


def test_formatting_helpers():
    assert bar(0, 4, 10) == "[>.........]" and bar(4, 4, 10) == "[==========]"
    assert bar(2, 4, 10) == "[=====>....]"
    assert format_seconds(3.21) == "3.2s" and format_seconds(75) == "1m15s"
    assert format_seconds(7300) == "2h01m"
    assert format_value(0.5) == "0.5000" and format_value(1e-5) == "1.000e-05"
    assert format_value(0) == "0.0000"


def test_an_early_stop_gets_a_line_after_its_row_and_callbacks_lines_erase_the_bar(capsys):
    import numpy as np

    import lamina
    from lamina import layers as L
    from lamina.callbacks import Callback

    class StopAtSecondEpoch(Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:  # mid-epoch, with the live bar drawn
                self.say("a callback's line")

        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = epoch == 1

    model = lamina.Sequential([L.Linear(2, 2)]).compile()
    stream = Terminal()
    logger = ProgressLogger(1, stream=stream)
    logger.interval = 0.0  # a bar at every step
    model.fit(np.zeros((8, 2)), np.zeros(8, int), epochs=5, batch_size=2, verbose=0,
              callbacks=[StopAtSecondEpoch(), logger])  # fit's own logger comes after callbacks
    out = stream.getvalue()
    assert out.endswith("\nTraining stopped early, after epoch 2 of 5 (a callback set "
                        "model.stop_training).\n")
    assert capsys.readouterr().out == "a callback's line\n" * 2
    # the bar of step 1 was erased for the line (printed to stdout), then step 2's drawn
    assert "\r\033[K\r\033[KEpoch 1/5  2/4 [" in out and "\r\033[K\r\033[KEpoch 2/5  2/4 [" in out
    assert out.split("\n")[-3].split("\r\033[K")[-1].split()[0] == "2/5"


def test_exported_with_the_other_callbacks():
    assert callbacks.ProgressLogger is ProgressLogger and "ProgressLogger" in callbacks.__all__
    assert issubclass(ProgressLogger, callbacks.Callback)
