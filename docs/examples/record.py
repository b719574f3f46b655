"""Record the examples gallery's outputs: ``python docs/examples/record.py`` (from the repository
root; about a minute). Writes each example model's summary and a real run of every example
whose data ships with lamina (digits, inspect, sequence_digits, char_lm: their printed output
and pictures) into docs/examples/outputs/. The MNIST and CIFAR examples download their data
sets, so only their summaries are recorded here.
"""

import contextlib
import importlib
import io
import os
import pathlib
import sys

OUTPUTS = pathlib.Path(__file__).resolve().parent / "outputs"
INPUT_SHAPES = {"digits": (None, 1, 8, 8), "mnist": (None, 1, 28, 28),
                "mnist_dropout": (None, 1, 28, 28), "mnist_conv": (None, 1, 28, 28),
                "cifar10_cnn": (None, 3, 32, 32)}


def captured(function, *args, **kwargs):
    stream = io.StringIO()
    with contextlib.redirect_stdout(stream):
        function(*args, **kwargs)
    return stream.getvalue()


def main():
    sys.path.insert(0, str(OUTPUTS.parents[2]))
    import lamina.examples.mnist

    OUTPUTS.mkdir(exist_ok=True)
    for name, shape in INPUT_SHAPES.items():
        module = importlib.import_module(f"lamina.examples.{name}")
        model = (lamina.examples.mnist.build_model(0.5) if name == "mnist_dropout"
                 else module.build_model())
        (OUTPUTS / f"{name}-summary.txt").write_text(captured(model.summary, shape))
    for name, args in (("digits", ["--verbose", "2"]),
                       ("sequence_digits", ["--verbose", "2"])):
        curves = OUTPUTS / f"{name}-curves.png"
        run = captured(importlib.import_module(f"lamina.examples.{name}").main,
                       ["--plot", str(curves), *args])
        (OUTPUTS / f"{name}-run.txt").write_text(run.replace(str(curves), os.path.relpath(curves)))
    pictures = OUTPUTS / "inspect"
    run = captured(importlib.import_module("lamina.examples.inspect").main,
                   ["--out", str(pictures)])
    (OUTPUTS / "inspect-run.txt").write_text(run.replace(str(pictures), os.path.relpath(pictures)))
    run = captured(importlib.import_module("lamina.examples.char_lm").main, [])
    (OUTPUTS / "char_lm-run.txt").write_text(run)


if __name__ == "__main__":
    main()
