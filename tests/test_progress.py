import io

from lamina.callbacks import History
from lamina.progress import ProgressLine


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_live_line_on_a_terminal_and_summary_only_elsewhere():
    terminal, pipe = Terminal(), io.StringIO()
    for stream in (terminal, pipe):
        line = ProgressLine(4, 1, 3, verbose=1, stream=stream)
        line.update(4, 128, {"loss": 0.5})
        line.finish({"loss": 0.5, "accuracy": 0.75})
    assert "4/4 [" in terminal.getvalue() and "samples/s" in terminal.getvalue()
    assert pipe.getvalue().startswith("Epoch 1/3 - ") and "loss: 0.5000 - accuracy: 0.7500" in pipe.getvalue()
    assert "[" not in pipe.getvalue()


def test_silent_and_history():
    stream = Terminal()
    line = ProgressLine(2, 1, 1, verbose=0, stream=stream)
    line.update(1, 10, {"loss": 1.0})
    line.finish({"loss": 1.0})
    assert stream.getvalue() == ""
    history = History()
    history.record(0, {"loss": 2.0})
    history.record(1, {"loss": 1.0})
    assert history.history == {"loss": [2.0, 1.0]} and history.epoch == [0, 1]
