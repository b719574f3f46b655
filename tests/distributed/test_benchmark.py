"""python -m benchmarks.spark runs its configurations in child processes and prints a table."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_quick_benchmark_without_spark_prints_rounds_and_overheads(tmp_path):
    report = tmp_path / "spark.json"
    result = subprocess.run([sys.executable, "-m", "benchmarks.spark", "--quick", "--only",
                             "fit,local-2", "--json", str(report)], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "| mlp_1e6 (1,002,570 params) | LocalEngine(2) |" in result.stdout
    rows = json.loads(report.read_text())["results"]
    assert [(r["config"], r["model"]) for r in rows] == [
        (config, model) for config in ("fit", "local-2")
        for model in ("mlp_1e4", "mlp_1e5", "mlp_1e6")]
    assert all(r["rounds"] == 4 and r["median_ms"] > 0 and r["steps_per_round"] == 1
               for r in rows)


def test_an_unknown_configuration_is_a_clear_error():
    result = subprocess.run([sys.executable, "-m", "benchmarks.spark", "--only", "gpu"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "--only 'gpu' matches no configuration" in result.stderr
