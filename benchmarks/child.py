"""One framework in one process: build a workload, time its steps, report its peak memory.

Started by ``python -m benchmarks`` as ``python -m benchmarks.child FRAMEWORK THREADS``; it
answers one JSON line on stdout per JSON command read from stdin:

    {"cmd": "build", "workload": NAME, "options": {...}}   build it (the options go to its
        builder: an epoch workload's "examples"), then take the memory baseline
    {"cmd": "run", "seconds": S, "min_steps": K}   time steps until S seconds and K steps
    {"cmd": "finish", "profile": {"dir": DIR, "steps": K, "title": T}}   peak memory since the
        baseline; then, if "profile" is given, K more steps under cProfile written to DIR
        (benchmarks.profiling); the workload is dropped
    {"cmd": "quit"}

Peak memory is the growth of the process's peak resident set (VmHWM in /proc/self/status)
over its resident set (VmRSS) at the baseline, taken after imports, model build and data
creation; the peak is reset there by writing 5 to /proc/self/clear_refs. Where that file is
not writable the peak of the whole process (ru_maxrss) stands in, and the result says so.
"""

import gc
import importlib
import json
import os
import resource
import sys
import time

from benchmarks.profiling import profile_steps


def status_kb(field):
    """A VmRSS/VmHWM-style field of /proc/self/status, in kB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def reset_peak():
    """Restart VmHWM at the current RSS; False where the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


def peak_kb(reset_worked):
    if reset_worked:
        return status_kb("VmHWM")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_steps(step, seconds, min_steps):
    times = []
    start = time.perf_counter()
    while len(times) < min_steps or time.perf_counter() - start < seconds:
        begin = time.perf_counter()
        step()
        times.append((time.perf_counter() - begin) * 1e3)
    return times


def main(framework, threads):
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    sys.stdout = sys.stderr  # anything a library prints stays out of the protocol

    def reply(**message):
        protocol.write(json.dumps(message) + "\n")

    side = importlib.import_module(f"benchmarks.{framework}_side")
    side.set_threads(threads)
    reply(ready=True, info=side.info())
    step, name, baseline_kb, reset_worked = None, None, 0, False
    for line in sys.stdin:
        command = json.loads(line)
        if command["cmd"] == "build":
            name = command["workload"]
            step = side.BUILDERS[name](**command.get("options", {}))
            gc.collect()
            baseline_kb = status_kb("VmRSS")
            reset_worked = reset_peak()
            reply(ok=True)
        elif command["cmd"] == "run":
            reply(times_ms=run_steps(step, command["seconds"], command["min_steps"]))
        elif command["cmd"] == "finish":
            peak_mb = max(peak_kb(reset_worked) - baseline_kb, 0) / 1024
            if command.get("profile"):
                profile = command["profile"]
                profile_steps(step, profile["steps"], profile["dir"], name, profile["title"])
            step = None
            gc.collect()
            reply(peak_mb=peak_mb, peak_method="VmHWM" if reset_worked else "ru_maxrss")
        elif command["cmd"] == "quit":
            break


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
