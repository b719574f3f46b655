"""The socket all-reduce: bit for bit tree_combine in rank order, on every rank; a dead or
silent peer is a DistributedError."""

import socket
import threading

import numpy as np
import pytest

from lamina.distributed.allreduce import Mesh, allreduce, listen
from lamina.distributed.combine import tree_combine
from lamina.errors import DistributedError


def run_ranks(function, ranks, timeout=20):
    """function(rank, mesh) on `ranks` threads joined in one mesh; [result or exception]."""
    listeners = [listen("127.0.0.1") for _ in range(ranks)]
    addresses = [f"127.0.0.1:{s.getsockname()[1]}" for s in listeners]
    outcomes = [None] * ranks

    def task(rank):
        try:
            with Mesh(rank, addresses, listeners[rank], token="job", timeout=timeout) as mesh:
                outcomes[rank] = function(rank, mesh)
        except Exception as error:  # handed back to the test
            outcomes[rank] = error

    threads = [threading.Thread(target=task, args=(r,)) for r in range(ranks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcomes


def results(ranks, seed=0):
    """Shard-like results: float32 and float64 arrays of awkward sizes, numbers, a rank
    without rows (only "rows"), a key only some ranks have."""
    rng = np.random.default_rng(seed)
    parts = []
    for rank in range(ranks):
        if rank == 1:
            parts.append({"sum": {"rows": 0}, "max": {}})
            continue
        sums = {"loss": float(rng.standard_normal()), "rows": int(rng.integers(1, 9)),
                "grad/0": rng.standard_normal((5, 3)).astype(np.float32) * 1e3,
                "grad/1": rng.standard_normal(2),  # fewer elements than ranks
                "grad/2": rng.standard_normal((4, 1, 3))}
        if rank % 2 == 0:
            sums["buffer/mean"] = rng.standard_normal(7)
        parts.append({"sum": sums, "max": {"iterations": rank}})
    return parts


@pytest.mark.parametrize("ranks, fan_in", [(1, 8), (2, 8), (3, 2), (5, 2), (4, 3)])
def test_every_rank_gets_tree_combine_in_rank_order_bit_for_bit(ranks, fan_in):
    parts = results(ranks)
    expected = tree_combine(parts, fan_in)
    outcomes = run_ranks(lambda rank, mesh: allreduce(mesh, parts[rank], fan_in), ranks)
    for total in outcomes:
        assert not isinstance(total, Exception), total
        assert total["max"] == expected["max"]
        assert sorted(total["sum"]) == sorted(expected["sum"])
        for key, value in expected["sum"].items():
            got = total["sum"][key]
            if isinstance(value, np.ndarray):
                assert got.dtype == value.dtype and got.shape == value.shape
                assert np.array_equal(got, value), key
            else:
                assert got == value and type(got) is type(value), key


def test_the_sums_follow_the_trees_grouping():
    """float32 values whose sum depends on the grouping: fan_in=2 adds (1e8 + 1) + (-1e8 + 1)
    = 0, fan_in=8 adds left to right: 1."""
    parts = [{"sum": {"g": np.array([value], np.float32)}, "max": {}}
             for value in (1e8, 1.0, -1e8, 1.0)]
    for fan_in, expected in [(2, 0.0), (8, 1.0)]:
        outcomes = run_ranks(lambda rank, mesh: allreduce(mesh, parts[rank], fan_in), 4)
        assert [t["sum"]["g"].tolist() for t in outcomes] == [[expected]] * 4


def test_a_peer_that_dies_is_a_distributed_error_naming_it():
    def function(rank, mesh):
        if rank == 1:
            mesh.close()  # the task died after joining
            return "gone"
        return allreduce(mesh, {"sum": {"g": np.ones(3)}, "max": {}}, 8)

    outcomes = run_ranks(function, 2)
    assert isinstance(outcomes[0], DistributedError)
    assert "task 0 of 2 could not receive from task 1 (127.0.0.1:" in str(outcomes[0])


def test_a_silent_peer_times_out():
    def function(rank, mesh):
        if rank == 1:
            threading.Event().wait(3)  # never sends; holds the connection open
            return "silent"
        return allreduce(mesh, {"sum": {"g": np.ones(3)}, "max": {}}, 8)

    outcomes = run_ranks(function, 2, timeout=1)
    assert isinstance(outcomes[0], DistributedError)
    assert "no answer within the timeout (timeout 1 s)" in str(outcomes[0])


def test_a_connection_without_the_jobs_token_is_refused():
    listener = listen("127.0.0.1")
    port = listener.getsockname()[1]
    stranger = socket.create_connection(("127.0.0.1", port))
    stranger.sendall(b"x" * 36)
    with pytest.raises(DistributedError, match="contacted by a stranger"):
        Mesh(0, [f"127.0.0.1:{port}", "127.0.0.1:1"], listener, token="job", timeout=5)
    stranger.close()
