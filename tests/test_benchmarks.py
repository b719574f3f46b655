"""The benchmark command runs: lamina and PyTorch in their own processes, a table, JSON;
--runs K combines K runs, --profile writes lamina's profiles, the epoch rows run fit."""

import json
import os
import pstats
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks import lamina_side
from benchmarks.__main__ import combine, table
from benchmarks.profiling import profile_steps
from benchmarks.workloads import EPOCH_EXAMPLES, WORKLOADS, epoch_inputs

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_quick_mlp_benchmark_runs_and_writes_json(tmp_path):
    report = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--only", "mlp_train", "--threads", "1",
         "--json", str(report)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "| (a) MLP 784-256-128-10 train, batch 128 |" in result.stdout
    data = json.loads(report.read_text())
    (row,) = data["results"]
    assert row["workload"] == "mlp_train" and data["machine"]["threads"] == 1
    for framework in ("lamina", "torch"):
        stats = row[framework]
        assert stats["steps"] >= 4 and 0 < stats["q25_ms"] <= stats["median_ms"] <= stats["q75_ms"]
        assert stats["peak_mb"] >= 0
    assert row["ratio"] == pytest.approx(row["lamina"]["median_ms"] / row["torch"]["median_ms"])


def test_unknown_workload_is_a_clear_error():
    result = subprocess.run([sys.executable, "-m", "benchmarks", "--only", "nonsense"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "--only 'nonsense' matches no workload" in result.stderr and "mlp_train" in result.stderr


@pytest.mark.slow
def test_runs_repeat_the_measurement_and_the_json_keeps_every_run(tmp_path):
    report = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--only", "maxpool_fwd", "--threads",
         "1", "--runs", "2", "--profile", str(tmp_path / "profiles"), "--json", str(report)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "| ratio (min-max, 2 runs) |" in result.stdout
    data = json.loads(report.read_text())
    assert data["runs"] == 2 and len(data["run_results"]) == 2
    (row,) = data["results"]
    ratios = [run[0]["ratio"] for run in data["run_results"]]
    assert row["ratio_min"] == min(ratios) and row["ratio_max"] == max(ratios)
    assert row["ratio"] == pytest.approx(sum(ratios) / 2)
    assert (tmp_path / "profiles" / "maxpool_fwd.pstats").exists()


def test_runs_must_be_positive():
    result = subprocess.run([sys.executable, "-m", "benchmarks", "--runs", "0"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "expected an integer >= 1, got 0" in result.stderr


def _row(name, lamina_ms, torch_ms, lamina_mb=1.0, unit="step"):
    stats = lambda ms, mb: {"median_ms": ms, "iqr_ms": 0.2 * ms, "q25_ms": 0.9 * ms,
                            "q75_ms": 1.1 * ms, "mean_ms": ms, "steps": 5, "peak_mb": mb,
                            "peak_method": "VmHWM"}
    return {"workload": name, "title": f"({name})", "unit": unit, "ratio": lamina_ms / torch_ms,
            "lamina": stats(lamina_ms, lamina_mb), "torch": stats(torch_ms, 2.0)}


def test_one_run_is_shown_as_it_was_measured():
    (row,) = combine([[_row("a", 3.0, 2.0)]])
    assert row["runs"] == 1 and row["ratio"] == row["ratio_min"] == row["ratio_max"] == 1.5
    assert row["lamina"]["iqr_ms"] == pytest.approx(0.6)
    assert table([row]).splitlines()[2] == "| (a) | 3.00 ±0.30 | 2.00 ±0.20 | 1.50 | 1.0 | 2.0 |"


def test_several_runs_give_medians_of_run_medians_and_the_ratio_range():
    runs = [[_row("a", 3.0, 2.0, 5.0), _row("e", 2000.0, 1000.0, unit="epoch")],
            [_row("a", 4.0, 2.0, 7.0), _row("e", 3000.0, 1000.0, unit="epoch")],
            [_row("a", 2.0, 2.5, 6.0), _row("e", 1500.0, 1500.0, unit="epoch")]]
    steps, epochs = combine(runs)
    assert (steps["ratio"], steps["ratio_min"], steps["ratio_max"]) == (1.5, 0.8, 2.0)
    assert steps["lamina"]["median_ms"] == 3.0 and steps["lamina"]["peak_mb"] == 6.0
    assert (steps["lamina"]["min_ms"], steps["lamina"]["max_ms"]) == (2.0, 4.0)
    assert steps["lamina"]["steps"] == 15 and steps["runs"] == 3
    header, _, line = table([steps]).splitlines()
    assert "| ratio (min-max, 3 runs) |" in header
    assert line == "| (a) | 3.00 (2.00-4.00) | 2.00 (2.00-2.50) | 1.50 (0.80-2.00) | 6.0 | 2.0 |"
    header, _, line = table([epochs], "epoch").splitlines()
    assert header.startswith("| workload | lamina s/epoch | PyTorch s/epoch |")
    assert line.startswith("| (e) | 2.00 (1.50-3.00) | 1.00 (1.00-1.50) | 2.00 (1.00-3.00) |")


def test_epoch_rows_read_the_same_fixed_order_and_quick_runs_a_tenth():
    x, y = epoch_inputs("lenet_epoch", 640)
    again, same = epoch_inputs("lenet_epoch", 640)
    assert x.shape == (640, 1, 28, 28) and x.dtype == np.float32 and x.flags.c_contiguous
    assert y.dtype == np.int64 and set(np.unique(y)) <= set(range(10))
    np.testing.assert_array_equal(x, again)
    np.testing.assert_array_equal(y, same)
    assert epoch_inputs("mlp_epoch", 640)[0].shape == (640, 784)
    epochs = [w for w in WORKLOADS if w.unit == "epoch"]
    assert [w.name for w in epochs] == ["mlp_epoch", "lenet_epoch"]
    assert [w.examples(False) for w in epochs] == [EPOCH_EXAMPLES] * 2 == [60_000] * 2
    assert epochs[0].builder_options(True) == {"examples": 6_000}
    assert all(w.examples(True) is None and w.builder_options(True) == {}
               for w in WORKLOADS if w.unit == "step")


def test_lamina_epoch_is_one_fit_over_every_batch():
    epoch = lamina_side.BUILDERS["mlp_epoch"](examples=200)
    history = epoch()
    assert history.params["steps"] == 4 and history.params["samples"] == 200
    assert len(history.history["loss"]) == 1 and np.isfinite(history.history["loss"][0])


def _same_weights(build):
    """The lamina and the PyTorch model of one architecture, PyTorch's given lamina's weights."""
    torch = pytest.importorskip("torch")
    from benchmarks import torch_side
    from lamina.interop import to_torch_state_dict

    lamina_model, torch_model = getattr(lamina_side, build)(), getattr(torch_side, build)()
    torch_model.load_state_dict({key: torch.from_numpy(value) for key, value
                                 in to_torch_state_dict(lamina_model).items()})
    return lamina_model, torch_model, torch_side


def _assert_same_weights(lamina_model, torch_model, atol):
    from lamina.interop import to_torch_state_dict

    trained = to_torch_state_dict(lamina_model)
    for key, value in torch_model.state_dict().items():
        if key.endswith("num_batches_tracked"):  # lamina keeps no count (it is always 0)
            continue
        np.testing.assert_allclose(trained[key], value.numpy(), rtol=0, atol=atol, err_msg=key)


@pytest.mark.parametrize("name, build, loss", [
    ("mlp_train", "mlp", "cross_entropy"), ("lenet_train", "lenet", "cross_entropy"),
    ("cifar_train", "cifar_cnn", "cross_entropy"), ("decoder_train", "decoder", "mse")])
def test_both_training_steps_do_the_same_step(name, build, loss):
    """From the same weights, two steps on each side end at the same weights and loss
    (buffers too): same inputs, shapes, dtypes, loss and optimizer."""
    lamina_model, torch_model, torch_side = _same_weights(build)
    lamina_step = lamina_side.train_step(lamina_model, name, loss)
    loss_fn = {"cross_entropy": torch_side.F.cross_entropy, "mse": torch_side.F.mse_loss}[loss]
    torch_step = torch_side.train_step(torch_model, name, loss_fn)
    for _ in range(2):
        lamina_loss, torch_loss = lamina_step()[0], torch_step()
        assert lamina_loss == pytest.approx(torch_loss, rel=1e-5)
    # float32 through the CIFAR CNN's three batch norms: each side's first conv weights end
    # 9.4e-5 from a float64 run (measured, both sides alike), so they may differ by that much
    _assert_same_weights(lamina_model, torch_model, atol=2e-4 if build == "cifar_cnn" else 1e-5)


@pytest.mark.parametrize("name, build", [("mlp_epoch", "mlp"), ("lenet_epoch", "lenet")])
def test_both_epochs_train_the_same_batches_in_the_same_order_with_the_same_adam(name, build):
    """From the same weights, lamina's fit epoch and PyTorch's loop end at the same weights
    with the same mean loss: same data, batches, order, loss and optimizer on both sides."""
    lamina_model, torch_model, torch_side = _same_weights(build)
    history = lamina_side.fit_epoch(lamina_model, name, 200)()  # 4 batches, the last of 8
    torch_loss = torch_side.loop_epoch(torch_model, name, 200)()
    assert history.history["loss"][0] == pytest.approx(torch_loss, rel=1e-5)
    # Adam's normalised steps turn float32 rounding in small gradients into weight
    # differences up to ~2e-5; the batches in reverse order on one side make them ~7e-3.
    _assert_same_weights(lamina_model, torch_model, atol=1e-4)


def test_profile_writes_pstats_and_a_top_by_own_time(tmp_path):
    calls = []

    def busy_step():
        calls.append(sum(i * i for i in range(2000)))

    stats_path, text_path = profile_steps(busy_step, 3, tmp_path / "deep", "busy", "a title")
    assert len(calls) == 3
    stats = pstats.Stats(str(stats_path))
    assert any(name == "busy_step" and data[0] == 3
               for (_, _, name), data in stats.stats.items())
    text = text_path.read_text()
    assert text.startswith("busy: a title\nlamina, 3 profiled calls,")
    assert "Ordered by: internal time" in text and "busy_step" in text


def test_the_child_profiles_its_lamina_steps_after_timing(tmp_path):
    commands = [{"cmd": "build", "workload": "mlp_epoch", "options": {"examples": 128}},
                {"cmd": "run", "seconds": 0, "min_steps": 2},
                {"cmd": "finish", "profile": {"dir": str(tmp_path), "steps": 1, "title": "t"}},
                {"cmd": "quit"}]
    result = subprocess.run([sys.executable, "-m", "benchmarks.child", "lamina", "1"], cwd=ROOT,
                            input="".join(json.dumps(c) + "\n" for c in commands),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    ready, built, ran, finished = map(json.loads, result.stdout.splitlines())
    assert ready["info"]["lamina_threads"] == 1 and built == {"ok": True}
    assert len(ran["times_ms"]) == 2 and finished["peak_mb"] >= 0
    text = (tmp_path / "mlp_epoch.txt").read_text()
    assert "1 profiled calls" in text
    assert pstats.Stats(str(tmp_path / "mlp_epoch.pstats")).total_calls > 0
    assert f"lamina{os.sep}" in text  # lamina's own functions are in the top 25
