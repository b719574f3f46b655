"""lamina.functional.pieces: cache-sized pieces of axis 0, on lamina's threads when large."""

import threading

import numpy as np
import pytest

import lamina
from lamina.functional import pieces as P
from tests.functional.test_parallel import restore_threads  # noqa: F401 (a fixture)


@pytest.mark.parametrize("n, bytes_per_item", [(1, 10), (7, P.PIECE_BYTES), (1000, 3000),
                                               (5, 4 * P.PIECE_BYTES), (0, 8)])
def test_piece_slices_cover_the_range_in_order(n, bytes_per_item):
    slices = P.piece_slices(n, bytes_per_item)
    covered = [i for piece in slices for i in range(n)[piece]]
    assert covered == list(range(n))
    assert all(piece.stop > piece.start for piece in slices)
    assert all((piece.stop - piece.start) * bytes_per_item <= max(P.PIECE_BYTES, bytes_per_item)
               for piece in slices)


@pytest.mark.parametrize("single_pass", [False, True])
def test_run_pieces_runs_each_piece_once_on_the_threads_only_when_large(single_pass,
                                                                        restore_threads,
                                                                        monkeypatch):
    lamina.set_num_threads(2)
    here, calls, run_chunks = threading.current_thread().name, [], P.run_chunks
    monkeypatch.setattr(P, "run_chunks",
                        lambda fn, chunks: calls.append(len(chunks)) or run_chunks(fn, chunks))
    for n, bytes_per_item, threaded in [(100, 16, False), (3000, P.PIECE_BYTES // 3, True)]:
        seen, names = [], set()
        calls.clear()

        def record(piece):
            seen.append((piece.start, piece.stop))
            names.add(threading.current_thread().name)

        P.run_pieces(record, n, bytes_per_item, single_pass)
        covered = sorted(i for start, stop in seen for i in range(start, stop))
        assert covered == list(range(n))
        assert (calls == [2]) == threaded and calls in ([], [2])  # this thread and a worker
        assert names <= {here, "lamina-0"} and (threaded or names == {here})
        if single_pass and not threaded:
            assert seen == [(0, n)]
        else:
            assert sorted(seen) == [(p.start, p.stop) for p in P.piece_slices(n, bytes_per_item)]


def test_map_pieces_equals_the_whole_call_with_the_probed_dtypes(restore_threads):
    lamina.set_num_threads(2)
    x = np.random.default_rng(0).standard_normal((3, 400, 500)).astype(np.float32)
    assert x.nbytes >= 2 * P.PIECE_BYTES

    def fn(part):
        return np.exp(part).astype(np.float64) * 3, part > 0.5

    whole = fn(x)
    pieces = P.map_pieces(fn, x)
    assert [a.dtype for a in pieces] == [np.float64, bool]
    assert all(np.array_equal(a, b) and a.shape == x.shape for a, b in zip(whole, pieces))


def test_small_or_non_contiguous_arrays_go_to_the_kernel_whole():
    calls = []
    big = np.zeros((2000, 300))
    for arrays in [(np.zeros(10),), (big.T,), (big, big[:, :100])]:
        P.each_piece(lambda *parts: calls.append(parts), *arrays)
        assert calls.pop()[0] is arrays[0] and not calls
