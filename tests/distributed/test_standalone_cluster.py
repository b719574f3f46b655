"""A real Spark standalone cluster on 127.0.0.1 (a master and three one-core workers from the
pyspark package; the application takes two cores): barrier jobs all-reduce between the two
executors' Python workers, and sync="step" training survives a worker SIGKILLed mid-run with
the weights of an unfailed run, both bit for bit LocalEngine's.

The driver runs in a child process (a process has one SparkContext, and the test session's
is local[2]): ``python -m tests.distributed.test_standalone_cluster RESULT MASTER UI PGIDS``.
After round 3 it SIGKILLs the process group of a worker that holds an executor (the worker,
its executor and their Python workers: a lost machine); the survivor runs rounds 4 to 8
alone (recomputing the lost cached block); after round 8 the driver waits for the master's
replacement executor on the idle worker and records each executor's task counts, and again
when training ends.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from tests.distributed.harness import conv_net, data

pytestmark = pytest.mark.spark

ROOT = Path(__file__).resolve().parents[2]
SEED, EPOCHS, KILL_AFTER_ROUND, REPLACED_AFTER_ROUND = 11, 4, 3, 8
STARTUP_S, DRIVER_S = 60, 150


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get_json(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def wait_for(what, check, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"standalone cluster: {what} within {timeout} s")


def spark_class():
    pyspark = pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("a standalone cluster needs Java (17) on the PATH")
    path = Path(pyspark.__file__).parent / "bin" / "spark-class"
    if not path.exists():
        pytest.skip(f"this pyspark has no bin/spark-class ({path}) to start a cluster with")
    return path


@pytest.fixture(scope="module")
def cluster_run(tmp_path_factory):
    """Master + 3 workers, the driver child's training with a worker killed; its result."""
    launcher = spark_class()
    logs = tmp_path_factory.mktemp("standalone")
    env = dict(os.environ, SPARK_HOME=str(launcher.parent.parent), SPARK_LOCAL_IP="127.0.0.1",
               PYSPARK_PYTHON=sys.executable)
    processes = []

    def start(name, *arguments):
        with open(logs / f"{name}.log", "w") as log:
            processes.append(subprocess.Popen([str(launcher), *arguments], env=env,
                                              stdout=log, stderr=subprocess.STDOUT,
                                              start_new_session=True))
        return processes[-1]

    try:
        port, ui = free_port(), free_port()
        start("master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
              "--port", str(port), "--webui-port", str(ui))
        master, master_ui = f"spark://127.0.0.1:{port}", f"http://127.0.0.1:{ui}/json/"
        wait_for("the master's web UI", lambda: get_json(master_ui), STARTUP_S)
        workers = {}
        for i in range(3):
            worker_port = free_port()
            workers[worker_port] = start(
                f"worker{i}", "org.apache.spark.deploy.worker.Worker", master, "--host",
                "127.0.0.1", "--port", str(worker_port), "--webui-port", str(free_port()),
                "--cores", "1", "--memory", "1g", "--work-dir", str(logs / f"work{i}")).pid
        wait_for("3 workers registered", lambda: sum(
            w["state"] == "ALIVE" for w in get_json(master_ui)["workers"]) == 3, STARTUP_S)
        result = logs / "result.json"
        driver = subprocess.run(
            [sys.executable, "-m", "tests.distributed.test_standalone_cluster", str(result),
             master, master_ui, json.dumps(workers)], cwd=ROOT, env=env, timeout=DRIVER_S,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert driver.returncode == 0, driver.stdout[-4000:]
        yield json.loads(result.read_text())
    finally:
        for process in processes:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()


def local_engine_weights(epochs):
    from lamina.distributed import DistributedTrainer, LocalEngine

    x, y = data()
    reference = conv_net()
    DistributedTrainer(reference, LocalEngine(num_shards=2), seed=SEED).fit(
        x, y, epochs=epochs, batch_size=8, verbose=0)
    return reference.get_weights()


def same_as_saved(path, expected):
    saved = np.load(path)
    return len(saved.files) == len(expected) and all(
        np.array_equal(saved[f"arr_{i}"], w) for i, w in enumerate(expected))


def test_barrier_jobs_between_two_executors_equal_local_engine(cluster_run):
    assert same_as_saved(cluster_run["barrier_weights"], local_engine_weights(epochs=1))


def test_training_through_a_killed_worker_ends_with_the_unfailed_weights(cluster_run):
    assert same_as_saved(cluster_run["weights"], local_engine_weights(epochs=EPOCHS))
    assert cluster_run["killed_executors"], "the killed worker held no executor"
    assert cluster_run["replacements"], "no replacement executor started"
    assert sum(cluster_run["tasks_after_loss"].values()) >= \
        (EPOCHS * 5 - REPLACED_AFTER_ROUND) * 2  # every later round's 2 tasks ran somewhere


def test_both_executors_run_tasks_after_the_loss(cluster_run):
    """SparkEngine.spread caches the blocks afresh when the executors changed."""
    busy = [executor for executor, tasks in cluster_run["tasks_after_loss"].items() if tasks]
    assert len(busy) == 2, cluster_run["tasks_after_loss"]


# -- the driver child ----------------------------------------------------------------------
def executors(ui_port, app_id):
    """{executor id: total tasks} of the application's active executors (not the driver)."""
    listing = get_json(f"http://127.0.0.1:{ui_port}/api/v1/applications/{app_id}/executors")
    return {e["id"]: e["totalTasks"] for e in listing if e["id"] != "driver"}


def drive(result_path, master, master_ui, worker_pgids):
    """Train on the cluster, SIGKILL a busy worker after round KILL_AFTER_ROUND, wait for
    its replacement after REPLACED_AFTER_ROUND."""
    from pyspark.sql import SparkSession

    from lamina.callbacks import Callback
    from lamina.distributed import SparkTrainer

    ui_port = free_port()
    spark = (SparkSession.builder.master(master).appName("lamina-standalone-test")
             .config("spark.cores.max", "2").config("spark.executor.cores", "1")
             .config("spark.executor.memory", "512m")
             .config("spark.driver.host", "127.0.0.1")
             .config("spark.driver.bindAddress", "127.0.0.1")
             .config("spark.ui.port", str(ui_port))
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.pyspark.python", sys.executable)
             .config("spark.executorEnv.PYTHONPATH", str(ROOT)).getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    app_id = spark.sparkContext.applicationId
    wait_for("2 executors", lambda: len(executors(ui_port, app_id)) == 2, STARTUP_S)
    record = {}

    class KillAWorker(Callback):
        def __init__(self):
            self.rounds = 0

        def on_train_batch_end(self, batch, logs=None):
            self.rounds += 1
            if self.rounds == KILL_AFTER_ROUND:
                self.before = executors(ui_port, app_id)
                busy = next(w["port"] for w in get_json(master_ui)["workers"]
                            if w["coresused"] > 0)
                os.killpg(worker_pgids[str(busy)], signal.SIGKILL)
                survivors = wait_for("the lost executor noticed", lambda: (
                    current if len(current := executors(ui_port, app_id)) < 2 else None),
                    STARTUP_S)
                record["killed_executors"] = sorted(set(self.before) - set(survivors))
            elif self.rounds == REPLACED_AFTER_ROUND:
                now = wait_for("a replacement executor", lambda: (
                    current if len(current := executors(ui_port, app_id)) == 2 else None),
                    STARTUP_S)
                record["replacements"] = sorted(set(now) - set(self.before))
                record["tasks_at_replacement"] = now

    try:
        x, y = data()
        barrier = conv_net()  # first, on the two executors: their sockets between processes
        SparkTrainer(barrier, spark, num_partitions=2, seed=SEED, aggregation="barrier",
                     steps_per_job=5).fit(x, y, epochs=1, batch_size=8, verbose=0)
        np.savez(Path(result_path).with_suffix(".barrier.npz"), *barrier.get_weights())
        model = conv_net()
        SparkTrainer(model, spark, num_partitions=2, seed=SEED).fit(
            x, y, epochs=EPOCHS, batch_size=8, verbose=0, callbacks=[KillAWorker()])
        final = executors(ui_port, app_id)
        record["tasks_after_loss"] = {
            executor: tasks - record["tasks_at_replacement"].get(executor, 0)
            for executor, tasks in final.items()}
        weights = Path(result_path).with_suffix(".npz")
        np.savez(weights, *model.get_weights())
        record["weights"] = str(weights)
        record["barrier_weights"] = str(Path(result_path).with_suffix(".barrier.npz"))
        Path(result_path).write_text(json.dumps(record))
    finally:
        spark.stop()


if __name__ == "__main__":
    drive(sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4]))
