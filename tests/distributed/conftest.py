"""One local[2] SparkSession for the whole test session: tasks are retried up to 4 times, and
the first attempt of round 3, partition 1 of any run with seed 12345 fails (the retry test)."""

import shutil
from pathlib import Path

import pytest

from lamina.distributed.spark import FAULT_VARIABLE
from tests.distributed.harness import FAULTY_SEED

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def spark():
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java (17) on the PATH")
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[2,4]").appName("lamina-tests")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.default.parallelism", "2")
               .config("spark.executorEnv.PYTHONPATH", str(ROOT))  # lamina from this checkout
               .config(f"spark.executorEnv.{FAULT_VARIABLE}", f"{FAULTY_SEED}:3:1")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
