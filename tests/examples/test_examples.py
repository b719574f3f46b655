"""The runnable examples, end to end, on small stand-in datasets written in the real formats.

The stand-ins are the embedded 8x8 digits, enlarged to 28x28 (MNIST's IDX files) or to
3x32x32 (CIFAR-10's binary records), so the examples have something learnable to learn.
"""

import gzip
import struct

import numpy as np
import pytest

import lamina
from lamina.datasets import load_digits


def digits_as(size, channels):
    """Digits scaled to 0..255, enlarged 3x and zero-padded to size x size, as uint8."""
    (x, y), (xt, yt) = load_digits()
    out = []
    for images in (x, xt):
        big = np.kron(images / 16.0 * 255, np.ones((3, 3))).astype(np.uint8)  # 24x24
        pad = (size - 24) // 2
        canvas = np.zeros((len(images), size, size), np.uint8)
        canvas[:, pad:pad + 24, pad:pad + 24] = big
        out.append(np.repeat(canvas[:, None], channels, axis=1) if channels > 1 else canvas)
    return (out[0], y.astype(np.uint8)), (out[1], yt.astype(np.uint8))


def write_idx(path, array):
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(gzip.compress(header + array.tobytes()))


@pytest.fixture
def mnist_dir(tmp_path):
    (x, y), (xt, yt) = digits_as(28, 1)
    folder = tmp_path / "mnist"
    folder.mkdir()
    for prefix, images, labels in (("train", x, y), ("t10k", xt, yt)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)
    return folder


@pytest.fixture
def cifar_dir(tmp_path):
    (x, y), (xt, yt) = digits_as(32, 3)
    folder = tmp_path / "cifar"
    folder.mkdir()
    parts = np.array_split(np.arange(len(x)), 5)
    for i, index in enumerate(parts, start=1):
        records = np.concatenate([y[index, None], x[index].reshape(len(index), -1)], axis=1)
        (folder / f"data_batch_{i}.bin").write_bytes(records.astype(np.uint8).tobytes())
    records = np.concatenate([yt[:, None], xt.reshape(len(xt), -1)], axis=1)
    (folder / "test_batch.bin").write_bytes(records.astype(np.uint8).tobytes())
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("name, args, minimum", [
    ("mnist", ["--epochs", "3"], 0.85),
    ("mnist_dropout", ["--epochs", "3"], 0.8),
    ("mnist_conv", ["--epochs", "1", "--batch-size", "16"], 0.8),
])
def test_mnist_examples_learn_save_and_plot(name, args, minimum, mnist_dir, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    module = __import__(f"lamina.examples.{name}", fromlist=["main"])
    save, plot = tmp_path / "model.lamina", tmp_path / "curves.png"
    result = module.main(args + ["--data-dir", str(mnist_dir), "--verbose", "0",
                                 "--save", str(save), "--plot", str(plot)])
    out = capsys.readouterr().out
    assert f"Test accuracy: {result['accuracy']:.4f}" in out
    assert result["accuracy"] >= minimum
    assert save.exists() and plot.read_bytes().startswith(b"\x89PNG")
    x_test = lamina.datasets.load_mnist(path=mnist_dir)[1][0][:5]
    assert lamina.load_model(save).predict((x_test[:, None] / 255.0 - 0.1307).astype(np.float32)
                                           / np.float32(0.3081)).shape == (5, 10)


@pytest.mark.slow
def test_cifar_example_runs_with_batch_norm(cifar_dir, capsys):
    from lamina.examples import cifar10_cnn

    result = cifar10_cnn.main(["--data-dir", str(cifar_dir), "--epochs", "1", "--limit", "512",
                               "--verbose", "0"])
    assert "Test accuracy" in capsys.readouterr().out and result["accuracy"] > 0.3


@pytest.mark.slow
def test_digits_main_job_reaches_97_percent():
    from lamina.examples import digits

    assert digits.main(["--verbose", "0"])["accuracy"] >= 0.97


def test_command_line_help_lists_the_shared_options(capsys):
    from lamina.examples import mnist_conv

    with pytest.raises(SystemExit):
        mnist_conv.main(["--help"])
    out = capsys.readouterr().out
    for option in ("--epochs", "--batch-size", "--lr", "--data-dir", "--save", "--plot"):
        assert option in out


@pytest.mark.slow
def test_inspect_example_warns_about_the_broken_run_only_and_writes_its_pictures(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from lamina.examples import inspect

    monitors = inspect.main(["--epochs", "3", "--every", "5", "--out", str(tmp_path)])
    assert monitors["healthy"].warnings == []
    assert "dead_relu" in {warning.kind for warning in monitors["too_high_lr"].warnings}
    assert "dead ReLUs" in capsys.readouterr().out
    for name in ("monitor", "monitor_too_high_lr", "saliency", "grad_cam", "feature_maps",
                 "filters"):
        assert (tmp_path / f"{name}.png").read_bytes().startswith(b"\x89PNG"), name


def test_sequence_digits_learns_from_rows(capsys):
    """A short run (the full default run reaches 98.1%, see the module docstring)."""
    from lamina.examples import sequence_digits

    result = sequence_digits.main(["--epochs", "3", "--limit", "400", "--verbose", "0",
                                   "--validation-split", "0"])
    assert result["accuracy"] > 0.5
    assert "Test accuracy" in capsys.readouterr().out


def test_char_lm_prints_samples_as_it_learns(capsys):
    from lamina.examples import char_lm

    result = char_lm.main(["--epochs", "2", "--every", "1", "--length", "16",
                            "--sample", "20"])
    out = capsys.readouterr().out
    assert out.count("-- epoch") == 2 and "First Citizen:\n" in out
    assert result["loss"] < np.log(len(result["chars"]))  # better than uniform guessing


def test_export_folds_quantizes_and_checks_in_onnxruntime(tmp_path, capsys):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from lamina.examples import export

    result = export.main(["--epochs", "3", "--out", str(tmp_path)])
    float32, folded, int8 = result["rows"]
    assert float32["accuracy"] >= 0.9 and folded["accuracy"] == float32["accuracy"]
    assert float32["difference"] < 1e-4 and folded["difference"] < 1e-4
    assert int8["accuracy"] >= float32["accuracy"] - 0.01 and result["smaller"] > 3
    assert result["fold_difference"] < 1e-4
    assert "smaller" in capsys.readouterr().out


def test_digits_augmented_weighs_classes_and_reports_f1(capsys):
    from lamina.examples import digits_augmented

    result = digits_augmented.main(["--epochs", "6", "--verbose", "0"])
    assert result["accuracy"] > 0.8 and result["f1_score"] > 0.8
    assert 0.0 < result["precision"] <= 1.0 and 0.0 < result["recall"] <= 1.0
    assert "macro avg" in capsys.readouterr().out  # the classification report
