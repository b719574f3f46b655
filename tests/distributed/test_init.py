"""lamina.distributed imports without pyspark; SparkEngine needs a Spark session."""

import subprocess
import sys
from pathlib import Path

import pytest

from lamina.distributed import SparkEngine
from lamina.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_importing_lamina_and_lamina_distributed_does_not_import_pyspark():
    code = ("import sys, lamina, lamina.distributed; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyspark', 'py4j')))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_spark_engine_wants_a_spark_session():
    with pytest.raises(ConfigError, match="SparkSession or SparkContext. Received: str"):
        SparkEngine("local[2]")
