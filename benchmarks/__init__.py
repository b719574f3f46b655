"""Side-by-side speed and memory of lamina and PyTorch (CPU, float32, same thread count).

Run ``python -m benchmarks`` (``--quick``, ``--only NAME``, ``--threads N``, ``--runs K``,
``--profile DIR``, ``--json PATH``).
Each framework runs in its own child process (``benchmarks.child``), so their thread pools
never fight over the cores; the parent only schedules and prints. PyTorch is imported only
inside its child: it stays a test-only dependency of lamina.
"""

from benchmarks.workloads import WORKLOADS

__all__ = ["WORKLOADS"]
