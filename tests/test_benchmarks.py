"""The benchmark command runs: lamina and PyTorch in their own processes, a table, JSON."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_quick_mlp_benchmark_runs_and_writes_json(tmp_path):
    report = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--only", "mlp", "--threads", "1",
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
