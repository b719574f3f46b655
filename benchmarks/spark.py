"""``python -m benchmarks.spark``: distributed training rounds against local fit, as a table.

For MLPs of about 1e4, 1e5 and 1e6 parameters (float32, Adam, batch 256 of 784 features) it
times one training round of:

    fit             model.fit, one process (the baseline: one optimizer step)
    LocalEngine 1   DistributedTrainer on 1 and 2 in-process shards (sync="step")
    LocalEngine 2
    Spark local[1]  SparkTrainer with as many partitions as cores (sync="step")
    Spark local[2]
    Spark local[2] sync=local K=8   eight local steps per round
    Spark local[2] no-op rounds     the same broadcast, job and collect around a shard
                                    function that only reads its inputs and returns zeros:
                                    the floor that Spark itself sets
    Spark local[N] barrier K=16     aggregation="barrier", steps_per_job=16 on N = 2, 4, 8
                                    partitions: 16 sync="step" steps (an epoch) per barrier job,
                                    the gradients all-reduced between the tasks (local[N]
                                    with N above the machine's cores oversubscribes them)

and prints ms per round (median and interquartile range over the rounds of the second
epoch; the first warms up workers and caches), ms per step (the median of each round's time
over its steps), the per-round overhead over fit (round time minus fit's step time times the
steps in a round) and samples/s. Each engine
runs in its own child process with one BLAS thread per worker (OMP_NUM_THREADS=1), so that
"workers" is the only thing that changes. --quick: fewer rows; --only: configuration
names or prefixes (fit, local, spark); --json PATH saves the results.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from lamina.callbacks import Callback

ROOT = Path(__file__).resolve().parent.parent
MODELS = {"mlp_1e4": (784, 12, 10), "mlp_1e5": (784, 128, 10), "mlp_1e6": (784, 1024, 192, 10)}
BATCH, FEATURES = 256, 784
CONFIGS = [  # name, engine, workers, sync ("barrier": sync="step" in barrier jobs), steps
    ("fit", "fit", 1, "step", 1),
    ("local-1", "local", 1, "step", 1),
    ("local-2", "local", 2, "step", 1),
    ("spark-1", "spark", 1, "step", 1),
    ("spark-2", "spark", 2, "step", 1),
    ("spark-2-local8", "spark", 2, "local", 8),
    ("spark-2-floor", "spark", 2, "floor", 1),
    ("spark-2-barrier16", "spark", 2, "barrier", 16),
    ("spark-4-barrier16", "spark", 4, "barrier", 16),
    ("spark-8-barrier16", "spark", 8, "barrier", 16),
]


def build(sizes):
    """A compiled MLP with Linear layers of `sizes` and ReLUs between them."""
    import lamina
    from lamina import layers as L

    lamina.seed(0)
    layers = []
    for i, (inputs, outputs) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers += [L.Linear(inputs, outputs)] + ([L.ReLU()] if i < len(sizes) - 2 else [])
    model = lamina.Sequential(layers)
    model.compile(loss="cross_entropy", optimizer=lamina.optim.Adam(lr=1e-3))
    return model


class RoundTimer(Callback):
    """Times each round (batch begin to batch end) of the last of `epochs` epochs, and
    counts the steps each covered."""

    def __init__(self, epochs):
        self.last_epoch, self.epoch, self.times, self.steps = epochs - 1, 0, [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        self.start, self.first = time.perf_counter(), batch

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == self.last_epoch:
            self.times.append((time.perf_counter() - self.start) * 1e3)
            self.steps.append(batch - self.first + 1)


def noop_task(task, payload, block):
    """Spark's own cost of a round: read the weights and the block, return zero gradients."""
    return {"sum": {"rows": len(block[1]), **{f"grad/{i}": np.zeros_like(array)
                                               for i, array in enumerate(payload["state"])}},
            "max": {}}


def time_floor(model, engine, x, y, rounds):
    """ms of `rounds` SparkEngine rounds of noop_task with the model's weights as payload."""
    from lamina.distributed.plan import Plan

    shards = engine.distribute(x, y)
    task, times = {"plan": Plan(len(x), BATCH, 0), "round": 0}, []
    try:
        for _ in range(2 * rounds):  # the first half warms up
            start = time.perf_counter()
            engine.run(shards, noop_task, task, {"state": list(model.state_dict().values())})
            times.append((time.perf_counter() - start) * 1e3)
    finally:
        engine.release(shards)
    return times[rounds:]


def run_child(config, rows):
    """Time every model under one configuration; a list of result dicts."""
    name, engine_kind, workers, sync, local_steps = config
    rng = np.random.default_rng(0)
    x = rng.standard_normal((rows, FEATURES), dtype=np.float32)
    y = rng.integers(0, 10, rows)
    spark = None
    if engine_kind == "spark":
        from pyspark.sql import SparkSession

        spark = (SparkSession.builder.master(f"local[{workers}]").appName("lamina-benchmark")
                 .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
                 .config("spark.executorEnv.PYTHONPATH", str(ROOT)).getOrCreate())
        spark.sparkContext.setLogLevel("ERROR")
    results = []
    try:
        for model_name, sizes in MODELS.items():
            model = build(sizes)
            timer = RoundTimer(epochs=2)
            if engine_kind == "fit":
                model.fit(x, y, epochs=2, batch_size=BATCH, verbose=0, callbacks=[timer])
            elif sync == "floor":
                from lamina.distributed import SparkEngine

                model.build((None, FEATURES))
                timer.times = time_floor(model, SparkEngine(spark, num_partitions=workers), x, y,
                                         rounds=rows // BATCH)
                timer.steps = [1] * len(timer.times)
            else:
                from lamina.distributed import DistributedTrainer, LocalEngine, SparkEngine

                engine = LocalEngine(workers) if engine_kind == "local" else \
                    SparkEngine(spark, num_partitions=workers)
                mode = {"sync": "step", "aggregation": "barrier", "steps_per_job": local_steps} \
                    if sync == "barrier" else {"sync": sync, "local_steps": local_steps}
                DistributedTrainer(model, engine, seed=0, **mode).fit(
                    x, y, epochs=2, batch_size=BATCH, verbose=0, callbacks=[timer])
            q25, median, q75 = np.percentile(timer.times, [25, 50, 75])
            results.append({"config": name, "model": model_name, "params": model.count_params(),
                            "workers": workers, "sync": sync, "local_steps": local_steps,
                            "rounds": len(timer.times), "median_ms": median,
                            "iqr_ms": q75 - q25,
                            "steps_per_round": float(np.median(timer.steps)),
                            "step_ms": float(np.median(np.divide(timer.times, timer.steps)))})
            print(f"  {name:<15} {model_name}: {median:8.1f} ms/round", file=sys.stderr,
                  flush=True)
    finally:
        if spark is not None:
            spark.stop()
    return results


def label(result):
    workers = result["workers"]
    text = {"fit": "fit (one process)", "local": f"LocalEngine({workers})",
            "spark": f"Spark local[{workers}]"}[result["config"].split("-")[0]]
    if result["sync"] == "local":
        text += f", sync=local K={result['local_steps']}"
    if result["sync"] == "floor":
        text += ", no-op rounds (Spark's own cost)"
    if result["sync"] == "barrier":
        text += f", barrier K={result['local_steps']}"
    return text


def table(results):
    baseline = {r["model"]: r["median_ms"] for r in results if r["config"] == "fit"}
    lines = ["| model | engine | ms/round | ms/step | overhead ms/round | samples/s |",
             "| --- | --- | ---: | ---: | ---: | ---: |"]
    for r in results:
        steps = r["steps_per_round"]
        overhead = r["median_ms"] - steps * baseline.get(r["model"], float("nan"))
        samples = "-" if r["sync"] == "floor" else f"{BATCH / r['step_ms'] * 1e3:,.0f}"
        lines.append(f"| {r['model']} ({r['params']:,} params) | {label(r)} | "
                     f"{r['median_ms']:.1f} ±{r['iqr_ms'] / 2:.1f} | {r['step_ms']:.1f} | "
                     f"{'-' if r['config'] == 'fit' else f'{overhead:.1f}'} | {samples} |")
    return "\n".join(lines)


def select(only):
    if not only:
        return CONFIGS
    names = [name.strip() for name in only.split(",") if name.strip()]
    chosen = [c for c in CONFIGS if any(c[0].startswith(n) for n in names)]
    if not chosen:
        raise SystemExit(f"--only {only!r} matches no configuration. Configurations: "
                         + ", ".join(c[0] for c in CONFIGS))
    return chosen


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.spark",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rows per epoch")
    parser.add_argument("--only", metavar="NAME", help="configurations: fit,local,spark-2,...")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    rows = BATCH * (4 if args.quick else 16)
    if args.child:
        config = next(c for c in CONFIGS if c[0] == args.child)
        print(json.dumps(run_child(config, rows)))
        return
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    started, results = time.perf_counter(), []
    load_before = os.getloadavg()[0]
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{rows} rows, batch {BATCH}, 1 BLAS thread per worker, load average "
          f"{load_before:.1f}", flush=True)
    for config in select(args.only):
        command = [sys.executable, "-m", "benchmarks.spark", "--child", config[0]]
        command += ["--quick"] if args.quick else []
        child = subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        if child.returncode != 0:
            raise SystemExit(f"configuration {config[0]} failed (exit code {child.returncode})")
        results += json.loads(child.stdout.strip().splitlines()[-1])
    load = (load_before, os.getloadavg()[0])
    print(f"{time.perf_counter() - started:.0f} s, load average {load[0]:.1f} before and "
          f"{load[1]:.1f} after (other processes slow Spark's rounds most)\n")
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "batch": BATCH, "load": load,
                                               "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
