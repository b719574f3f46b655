"""``python -m lamina.compat.slugnet.examples.<name> [options]``, run as __main__ in-process on
a small MNIST stand-in (the real one needs the network), and their command line."""

import re
import runpy
import sys

import pytest

import lamina


@pytest.fixture
def run_example(monkeypatch):
    """Run an example module as ``python -m name *argv`` does (as __main__, not imported
    before)."""
    def run(name, *argv):
        module = f"lamina.compat.slugnet.examples.{name}"
        monkeypatch.delitem(sys.modules, module, raising=False)
        monkeypatch.setattr(sys, "argv", [module, *argv])
        return runpy.run_module(module, run_name="__main__")
    return run


def printed_epochs(printed, kind="train"):
    return [int(epoch) for epoch in re.findall(rf"^\| {kind} +\| +(\d+) \|", printed, re.M)]


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


@pytest.mark.parametrize("name", ["mnist", "mnist_dropout", "mnist_conv"])
def test_help_prints_the_options_and_loads_nothing(name, run_example, monkeypatch, capsys):
    def no_download(*args, **kwargs):
        raise AssertionError("--help must not load MNIST")
    monkeypatch.setattr(lamina.datasets, "load_mnist", no_download)
    with pytest.raises(SystemExit) as exit:
        run_example(name, "--help")
    assert exit.value.code == 0
    usage = capsys.readouterr().out
    for option in ("--data-dir", "--epochs", "--batch-size", "--lr", "--limit", "--seed"):
        assert option in usage


def test_options_reach_the_data_and_the_model(run_example, monkeypatch, tmp_path, capsys):
    from tests.compat.harness import digits_as_mnist
    stand_in, paths = digits_as_mnist(100, 20), []

    def load_mnist(path=None, download=True):
        paths.append(path)
        return stand_in(path, download)
    monkeypatch.setattr(lamina.datasets, "load_mnist", load_mnist)
    namespace = run_example("mnist_dropout", "--data-dir", str(tmp_path), "--epochs", "2",
                            "--batch-size", "8", "--lr", "0.02", "--limit", "50",
                            "--validation-split", "0.1", "--save", str(tmp_path / "m.lamina"))
    assert paths == [str(tmp_path)]
    printed = capsys.readouterr().out
    assert printed_epochs(printed) == [0, 1] and printed_epochs(printed, "validation") == [0, 1]
    model = namespace["main"](["--limit", "40", "--epochs", "1", "--lr", "0.02",
                               "--verbose", "0"])
    assert model.network.optimizer.lr == 0.02 and model.n_epoch == 1 and not model.progress
    assert model.history.params["samples"] == 32  # 40 - ceil(40 * 0.2) = 32: one batch
    loaded = lamina.load_model(str(tmp_path / "m.lamina"))
    X, _ = digits_as_mnist(100, 20)()[0]
    assert loaded.predict(X[:4].reshape(4, 784).astype("float32")).shape == (4, 10)


def test_a_bad_option_is_an_argparse_error(run_example, capsys):
    with pytest.raises(SystemExit) as exit:
        run_example("mnist", "--epochs", "many")
    assert exit.value.code == 2 and "invalid int value" in capsys.readouterr().err


def test_importing_an_example_trains_nothing(fake_mnist, capsys):
    fake_mnist(n_train=5, n_test=1)
    import lamina.compat.slugnet.examples.mnist  # noqa: F401
    assert capsys.readouterr().out == ""
