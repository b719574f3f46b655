"""``python -m benchmarks``: time every workload in lamina and in PyTorch, print a table.

Each group of workloads gets one lamina child and one PyTorch child (all started at once so
that their imports overlap; a child idles until its group runs), with the same thread count
in OMP_NUM_THREADS / OPENBLAS_NUM_THREADS / MKL_NUM_THREADS (and torch.set_num_threads).
Per workload: both build it, warm up, then run alternating timed
blocks (lamina, PyTorch, PyTorch, lamina, ...) with a short pause between blocks so one
framework's spinning BLAS/OpenMP threads never steal the other's cores. A row reports the
median and interquartile range of all timed steps, their ratio, and each child's peak memory
growth (see benchmarks.child).
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

from benchmarks.workloads import WORKLOADS

ROOT = Path(__file__).resolve().parent.parent

# Per workload and framework: warm-up (seconds, at least warmup_steps), then `rounds` timed
# blocks of `block` seconds (at least min_steps each), `pause` seconds between blocks.
SETTINGS = {
    "full": dict(warmup=0.4, warmup_steps=2, rounds=3, block=0.6, min_steps=3, pause=0.1),
    "quick": dict(warmup=0.05, warmup_steps=1, rounds=2, block=0.15, min_steps=2, pause=0.02),
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


def measure(workload, children, settings):
    """Build on both sides, warm up, then alternate timed blocks; per-framework summaries."""
    for child in children:
        child.send(cmd="build", workload=workload.name)
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
            times[child.framework] += reply["times_ms"]
            time.sleep(settings["pause"])
    return {child.framework: summarise(times[child.framework], child.ask(cmd="finish"))
            for child in children}


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


def table(results):
    lines = ["| workload | lamina ms/step | PyTorch ms/step | ratio | lamina peak MB | "
             "PyTorch peak MB |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for row in results:
        lam, tor = row["lamina"], row["torch"]
        lines.append(
            f"| {row['title']} | {lam['median_ms']:.2f} ±{lam['iqr_ms'] / 2:.2f} | "
            f"{tor['median_ms']:.2f} ±{tor['iqr_ms'] / 2:.2f} | {row['ratio']:.2f} | "
            f"{lam['peak_mb']:.1f} | {tor['peak_mb']:.1f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter warm-up and blocks (~40 s)")
    parser.add_argument("--only", metavar="NAME",
                        help="workload names or prefixes, comma-separated: mlp,cifar,conv_")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                        help="threads for both frameworks (default: the cores available)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    settings = SETTINGS["quick" if args.quick else "full"]
    workloads = select(args.only)
    info = {"machine": machine_info(args.threads), "settings": settings}
    print(f"{info['machine']['cpu']}, {info['machine']['cores']} cores, "
          f"{args.threads} threads per framework", flush=True)
    results, started = [], time.perf_counter()
    groups = list(dict.fromkeys(w.group for w in workloads))
    # Every child starts now, so the imports overlap; each waits, idle, until its group runs.
    pairs = {group: [Child("lamina", args.threads), Child("torch", args.threads)]
             for group in groups}
    try:
        for children in pairs.values():
            for child in children:
                info.setdefault("versions", {}).update(child.ready())
        for group, children in pairs.items():
            for workload in (w for w in workloads if w.group == group):
                summary = measure(workload, children, settings)
                results.append({"workload": workload.name, "title": workload.title,
                                "ratio": summary["lamina"]["median_ms"]
                                / summary["torch"]["median_ms"], **summary})
                print(f"  {workload.name:<15} lamina {summary['lamina']['median_ms']:8.2f} ms  "
                      f"torch {summary['torch']['median_ms']:8.2f} ms  "
                      f"ratio {results[-1]['ratio']:.2f}", file=sys.stderr, flush=True)
            for child in children:
                child.close()
    finally:
        for children in pairs.values():
            for child in children:
                child.close()
    versions = info["versions"]
    print(f"numpy {versions['numpy']} ({versions['blas']}), torch {versions['torch']} "
          f"({versions['torch_threads']} threads), {time.perf_counter() - started:.0f} s\n")
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps({**info, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
