"""``python -m benchmarks``: time every workload in lamina and in PyTorch, print a table.

Each group of workloads gets one lamina child and one PyTorch child (all started at once so
that their imports overlap; a child idles until its group runs), with the same thread count
in OMP_NUM_THREADS / OPENBLAS_NUM_THREADS / MKL_NUM_THREADS (and lamina.set_num_threads,
torch.set_num_threads). Per workload: both build it, warm up, then run alternating timed
blocks (lamina, PyTorch, PyTorch, lamina, ...) with a short pause between blocks so one
framework's spinning BLAS/OpenMP threads never steal the other's cores. A row reports the
median and interquartile range of all timed calls (a step, or a whole epoch for the epoch
workloads), their ratio, and each child's peak memory growth (see benchmarks.child).

--runs K repeats the whole measurement K times with fresh children; the table then shows
the median of the K run medians (their min-max in brackets), the median of the K ratios
with their min-max, and the median peak memory; the JSON keeps every run. --profile DIR
writes a cProfile of lamina's side of every row (benchmarks.profiling), in the first run.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.workloads import EPOCH_EXAMPLES, QUICK_EPOCH_FRACTION, WORKLOADS

ROOT = Path(__file__).resolve().parent.parent

# Per workload and framework: warm-up (seconds, at least warmup_steps), then `rounds` timed
# blocks of `block` seconds (at least min_steps each), `pause` seconds between blocks.
SETTINGS = {
    "full": dict(warmup=0.4, warmup_steps=2, rounds=3, block=0.6, min_steps=3, pause=0.1),
    "quick": dict(warmup=0.05, warmup_steps=1, rounds=2, block=0.15, min_steps=2, pause=0.02),
}
# Epoch workloads: one warm-up epoch, then one epoch per block (4 rounds: each side goes
# first twice). --quick runs 1/QUICK_EPOCH_FRACTION of an epoch per call, scaled up.
EPOCH_SETTINGS = {
    "full": dict(warmup=0.0, warmup_steps=1, rounds=4, block=0.0, min_steps=1, pause=0.1),
    "quick": dict(warmup=0.0, warmup_steps=1, rounds=2, block=0.0, min_steps=1, pause=0.02),
}


class Child:
    """One framework's child process, driven by JSON lines (see benchmarks.child)."""

    def __init__(self, framework, threads):
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
                   MKL_NUM_THREADS=str(threads))
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        self.framework = framework
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.child", framework, str(threads)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env)

    def ready(self):
        return self.receive()["info"]

    def send(self, **command):
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()

    def receive(self):
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.framework} benchmark process stopped "
                               f"(exit code {self.process.wait()}); its error is above")
        return json.loads(line)

    def ask(self, **command):
        self.send(**command)
        return self.receive()

    def close(self):
        if self.process.poll() is None:
            try:
                self.send(cmd="quit")
            except (BrokenPipeError, OSError):
                pass
            self.process.wait(timeout=30)


def summarise(times, peak):
    q25, median, q75 = np.percentile(times, [25, 50, 75])
    return {"median_ms": float(median), "iqr_ms": float(q75 - q25), "q25_ms": float(q25),
            "q75_ms": float(q75), "mean_ms": statistics.fmean(times), "steps": len(times),
            "peak_mb": peak["peak_mb"], "peak_method": peak["peak_method"]}


def settings_for(workload, quick):
    return (EPOCH_SETTINGS if workload.unit == "epoch" else SETTINGS)["quick" if quick else "full"]


def title(workload, quick):
    examples = workload.examples(quick)
    if examples is None or examples == EPOCH_EXAMPLES:
        return workload.title
    return (f"{workload.title} (quick: {examples:,} examples per call, "
            f"time x{EPOCH_EXAMPLES / examples:g})")


def measure(workload, children, quick=False, profile=None):
    """Build on both sides, warm up, then alternate timed blocks; per-framework summaries
    (ms per call; a --quick epoch's scaled up to the whole epoch). profile: a folder for
    lamina's cProfile of as many calls as it timed (one epoch for an epoch row), or None."""
    settings = settings_for(workload, quick)
    examples = workload.examples(quick)
    scale = 1.0 if examples is None else EPOCH_EXAMPLES / examples
    for child in children:
        child.send(cmd="build", workload=workload.name, options=workload.builder_options(quick))
    for child in children:
        child.receive()
    times = {child.framework: [] for child in children}
    for child in children:
        child.ask(cmd="run", seconds=settings["warmup"], min_steps=settings["warmup_steps"])
        time.sleep(settings["pause"])
    for round_ in range(settings["rounds"]):
        order = children if round_ % 2 == 0 else children[::-1]
        for child in order:
            reply = child.ask(cmd="run", seconds=settings["block"],
                              min_steps=settings["min_steps"])
            times[child.framework] += [t * scale for t in reply["times_ms"]]
            time.sleep(settings["pause"])
    summaries = {}
    for child in children:
        finish = {}
        if profile is not None and child.framework == "lamina":
            # An epoch (938 steps) is sample enough; a step row profiles as many as it timed.
            calls = 1 if workload.unit == "epoch" else len(times["lamina"])
            finish["profile"] = {"dir": str(profile), "steps": calls,
                                 "title": title(workload, quick)}
        summaries[child.framework] = summarise(times[child.framework],
                                               child.ask(cmd="finish", **finish))
    return summaries


def run_once(workloads, threads, quick=False, profile=None):
    """One whole measurement, fresh children: (rows, versions). A row: workload, title, unit,
    ratio (lamina's median over PyTorch's) and each framework's summary."""
    rows, versions = [], {}
    groups = list(dict.fromkeys(w.group for w in workloads))
    # Every child starts now, so the imports overlap; each waits, idle, until its group runs.
    pairs = {group: [Child("lamina", threads), Child("torch", threads)] for group in groups}
    try:
        for children in pairs.values():
            for child in children:
                versions.update(child.ready())
        for group, children in pairs.items():
            for workload in (w for w in workloads if w.group == group):
                summary = measure(workload, children, quick, profile)
                rows.append({"workload": workload.name, "title": title(workload, quick),
                             "unit": workload.unit,
                             "ratio": summary["lamina"]["median_ms"]
                             / summary["torch"]["median_ms"], **summary})
                print(f"  {workload.name:<17} lamina {summary['lamina']['median_ms']:9.2f} ms  "
                      f"torch {summary['torch']['median_ms']:9.2f} ms  "
                      f"ratio {rows[-1]['ratio']:.2f}", file=sys.stderr, flush=True)
            for child in children:
                child.close()
    finally:
        for children in pairs.values():
            for child in children:
                child.close()
    return rows, versions


def combine(runs):
    """One row per workload from K runs' rows (each run a list in the same order). One run:
    its rows as they are. Several: each framework's median_ms is the median of the run
    medians (min_ms, max_ms: their extremes) and peak_mb the median of the runs' peaks; the
    ratio is the median of the runs' ratios (each lamina over PyTorch in the same run), with
    ratio_min and ratio_max."""
    if len(runs) == 1:
        return [dict(row, runs=1, ratio_min=row["ratio"], ratio_max=row["ratio"])
                for row in runs[0]]
    combined = []
    for rows in zip(*runs):
        first, ratios = rows[0], [row["ratio"] for row in rows]
        row = {key: first[key] for key in ("workload", "title", "unit")}
        row.update(runs=len(rows), ratio=statistics.median(ratios), ratio_min=min(ratios),
                   ratio_max=max(ratios))
        for framework in ("lamina", "torch"):
            medians = [r[framework]["median_ms"] for r in rows]
            row[framework] = {
                "median_ms": statistics.median(medians), "min_ms": min(medians),
                "max_ms": max(medians), "steps": sum(r[framework]["steps"] for r in rows),
                "peak_mb": statistics.median(r[framework]["peak_mb"] for r in rows),
                "peak_method": first[framework]["peak_method"]}
        combined.append(row)
    return combined


def time_cell(stats, unit):
    """ms/step, or s/epoch: median ± half the IQR (one run) or median (min-max) of runs."""
    scale = 1e-3 if unit == "epoch" else 1.0
    if "min_ms" in stats:
        return (f"{stats['median_ms'] * scale:.2f} ({stats['min_ms'] * scale:.2f}-"
                f"{stats['max_ms'] * scale:.2f})")
    return f"{stats['median_ms'] * scale:.2f} ±{stats['iqr_ms'] * scale / 2:.2f}"


def table(rows, unit="step"):
    """The markdown table of rows of one unit (combine's rows, or one run's)."""
    per = "s/epoch" if unit == "epoch" else "ms/step"
    runs = rows[0].get("runs", 1) if rows else 1
    spread = f" (min-max, {runs} runs)" if runs > 1 else ""
    lines = [f"| workload | lamina {per} | PyTorch {per} | ratio{spread} | lamina peak MB | "
             "PyTorch peak MB |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for row in rows:
        lam, tor = row["lamina"], row["torch"]
        ratio = f"{row['ratio']:.2f}"
        if runs > 1:
            ratio += f" ({row['ratio_min']:.2f}-{row['ratio_max']:.2f})"
        lines.append(f"| {row['title']} | {time_cell(lam, unit)} | {time_cell(tor, unit)} | "
                     f"{ratio} | {lam['peak_mb']:.1f} | {tor['peak_mb']:.1f} |")
    return "\n".join(lines)


def machine_info(threads):
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor())
    return {"cpu": cpu, "cores": os.cpu_count(), "threads": threads,
            "python": platform.python_version(), "platform": platform.platform()}


def select(only):
    if not only:
        return WORKLOADS
    names = [name.strip() for name in only.split(",") if name.strip()]
    chosen = [w for w in WORKLOADS if any(w.name.startswith(n) or w.group == n for n in names)]
    if not chosen:
        raise SystemExit(f"--only {only!r} matches no workload. Workloads: "
                         + ", ".join(w.name for w in WORKLOADS))
    return chosen


def positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text}")
    return value


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="shorter warm-up and blocks, 1/%d of each epoch row (~1 minute)"
                        % QUICK_EPOCH_FRACTION)
    parser.add_argument("--only", metavar="NAME",
                        help="workload names or prefixes, comma-separated: mlp,cifar,conv_")
    parser.add_argument("--threads", type=positive, default=len(os.sched_getaffinity(0)),
                        help="threads for both frameworks (default: the cores available)")
    parser.add_argument("--runs", type=positive, default=1, metavar="K",
                        help="repeat the whole measurement K times (fresh processes); the "
                        "table shows medians over runs and the ratio's min-max")
    parser.add_argument("--profile", metavar="DIR",
                        help="write a cProfile of lamina's side of each row to DIR "
                        "(NAME.pstats, NAME.txt: top 25 by own time), in the first run")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "full"
    workloads = select(args.only)
    info = {"machine": machine_info(args.threads), "runs": args.runs,
            "settings": {"steps": SETTINGS[mode], "epochs": EPOCH_SETTINGS[mode]}}
    print(f"{info['machine']['cpu']}, {info['machine']['cores']} cores, "
          f"{args.threads} threads per framework", flush=True)
    runs, started = [], time.perf_counter()
    for run in range(args.runs):
        if args.runs > 1:
            print(f"run {run + 1} of {args.runs}", file=sys.stderr, flush=True)
        rows, versions = run_once(workloads, args.threads, args.quick,
                                  args.profile if run == 0 else None)
        runs.append(rows)
    info["versions"] = versions
    print(f"numpy {versions['numpy']} ({versions['blas']}, lamina "
          f"{versions['lamina_threads']} threads), torch {versions['torch']} "
          f"({versions['torch_threads']} threads), {time.perf_counter() - started:.0f} s"
          + (f", {args.runs} runs" if args.runs > 1 else "") + "\n")
    results = combine(runs)
    for unit in ("step", "epoch"):
        chosen = [row for row in results if row["unit"] == unit]
        if chosen:
            print(table(chosen, unit) + "\n")
    if args.profile:
        print(f"profiles of lamina's side: {Path(args.profile).resolve()}")
    if args.json:
        Path(args.json).write_text(json.dumps({**info, "results": results, "run_results": runs},
                                              indent=2) + "\n")


if __name__ == "__main__":
    main()
