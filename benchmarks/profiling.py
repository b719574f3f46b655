"""--profile DIR: a cProfile of lamina's steps, as a pstats file and a text top 25.

The profiled calls run after a workload's timed blocks, as many as lamina's side timed (one
epoch for an epoch workload), so the profiler's overhead never enters the table. cProfile
sees only the thread that calls the step: time lamina's kernels spend on their worker
threads (lamina.set_num_threads) shows up as the main thread waiting in run_chunks.
"""

import cProfile
import io
import pstats
import time
from pathlib import Path

TOP = 25


def profile_steps(step, steps, directory, name, title=""):
    """Run step() `steps` times under cProfile; write DIR/NAME.pstats (pstats.Stats reads
    it) and DIR/NAME.txt (the top TOP functions by own time). Returns both paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    for _ in range(steps):
        step()
    profiler.disable()
    elapsed = time.perf_counter() - start
    stats_path, text_path = directory / f"{name}.pstats", directory / f"{name}.txt"
    profiler.dump_stats(stats_path)
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(TOP)
    text_path.write_text(f"{name}: {title}\nlamina, {steps} profiled calls, "
                         f"{elapsed * 1e3 / steps:.2f} ms each under cProfile "
                         f"(top {TOP} by own time)\n" + text.getvalue())
    return stats_path, text_path
