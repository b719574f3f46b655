"""``python -m lamina.compat.slugnet.examples.<name>``, run as __main__ in-process on a small
MNIST stand-in (the real one needs the network)."""

import re
import runpy
import sys

import pytest


@pytest.fixture
def run_example(monkeypatch):
    """Run an example module as ``python -m`` does (as __main__, not imported before)."""
    def run(name):
        module = f"lamina.compat.slugnet.examples.{name}"
        monkeypatch.delitem(sys.modules, module, raising=False)
        return runpy.run_module(module, run_name="__main__")
    return run


@pytest.mark.parametrize("name", ["mnist", "mnist_dropout"])
def test_dense_examples(name, run_example, fake_mnist, capsys):
    fake_mnist(n_train=200, n_test=50)
    run_example(name)
    printed = capsys.readouterr().out
    assert re.findall(r"^\| (train|validation) +\| +(\d) \|", printed, re.M) == [
        (kind, str(epoch)) for epoch in range(3) for kind in ("train", "validation")]


def test_convolution_example(run_example, fake_mnist, capsys):
    fake_mnist(n_train=12, n_test=3)
    namespace = run_example("mnist_conv")
    assert printed_epochs(capsys.readouterr().out) == list(range(100))
    assert namespace["main"].__module__ == "__main__"


def printed_epochs(printed):
    return [int(epoch) for epoch in re.findall(r"^\| train +\| +(\d+) \|", printed, re.M)]


def test_importing_an_example_trains_nothing(fake_mnist, capsys):
    fake_mnist(n_train=5, n_test=1)
    import lamina.compat.slugnet.examples.mnist  # noqa: F401
    assert capsys.readouterr().out == ""
