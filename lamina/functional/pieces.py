"""Memory-bound kernels (pooling, elementwise activations) in cache-sized pieces of axis 0.

Each piece runs all of a kernel's passes while its data is still in the core's cache, and
large arrays hand their pieces to run_chunks, two threads working at once. The pieces never
depend on the thread count and the passes are elementwise within a piece, so the results are
bit for bit the same on any number of threads.
"""

import numpy as np

from lamina.functional.parallel import get_num_threads, run_chunks

__all__ = ["PIECE_BYTES", "PARALLEL_BYTES", "piece_slices", "run_pieces", "each_piece",
           "map_pieces"]

# One piece's input: with its outputs it stays in a core's 2 MB L2. Smaller pieces are no
# faster on one thread and slower on two (more hand-offs of the GIL between NumPy calls).
PIECE_BYTES = 2**20
# From this much input the pieces run on several threads: a hand-off to the pool costs
# ~35 us, about the time a pool or ReLU takes over half a megabyte, so below 2 MB one thread
# is as fast.
PARALLEL_BYTES = 2**21


def piece_slices(n, bytes_per_item):
    """Slices of range(n), each of about PIECE_BYTES (at least one item)."""
    step = max(1, PIECE_BYTES // max(1, bytes_per_item))
    return [slice(start, min(n, start + step)) for start in range(0, n, step)]


def run_pieces(fn, n, bytes_per_item, single_pass=False):
    """fn(piece) for each slice of piece_slices(n, bytes_per_item): on lamina's threads from
    PARALLEL_BYTES of input, else in order here. fn writes only its piece of any output.
    single_pass: fn makes one pass over its data, which cache cannot speed up, so on one
    thread it takes all of range(n) at once (a call per piece would only add overhead)."""
    threads = get_num_threads() if n * bytes_per_item >= PARALLEL_BYTES else 1
    if threads == 1:
        for piece in [slice(0, n)] if single_pass else piece_slices(n, bytes_per_item):
            fn(piece)
        return
    # Each thread takes the next piece left until none is: a thread the machine leaves
    # waiting (other processes on its core) does less, instead of holding the others up.
    # Which thread computes a piece never changes its numbers.
    pieces = iter(piece_slices(n, bytes_per_item))

    def take_pieces(_):
        for piece in pieces:
            fn(piece)

    run_chunks(take_pieces, range(threads))


def _whole(arrays):
    """Whether same-shape arrays go to a kernel whole: too small for pieces to pay, or not
    all C-contiguous (their flat pieces would not line up)."""
    first = arrays[0]
    return (first.size * first.itemsize < 2 * PIECE_BYTES
            or not all(a.flags.c_contiguous and a.shape == first.shape for a in arrays))


def each_piece(fn, *arrays, single_pass=False):
    """fn(*parts) for each piece of the flattened same-shape arrays (fn's inputs, then the
    outputs it writes with out=), or fn(*arrays) once for small or non-contiguous ones;
    single_pass as run_pieces'."""
    if _whole(arrays) or (single_pass and get_num_threads() == 1):
        fn(*arrays)
        return
    flats = [a.reshape(-1) for a in arrays]
    run_pieces(lambda part: fn(*(flat[part] for flat in flats)), flats[0].size,
               flats[0].itemsize, single_pass)


def map_pieces(fn, *arrays):
    """fn(*arrays) -> a tuple of arrays of their shape, computed piece by piece: fn's
    temporaries stay piece-sized and in cache, each piece's results are written into the
    whole outputs (their dtypes found from a one-element probe)."""
    if _whole(arrays):
        return fn(*arrays)
    probe = fn(*(a.reshape(-1)[:1] for a in arrays))
    outputs = tuple(np.empty(arrays[0].shape, result.dtype) for result in probe)

    def write(*parts):
        for output, result in zip(parts[len(arrays):], fn(*parts[:len(arrays)])):
            output[...] = result

    each_piece(write, *arrays, *outputs)
    return outputs
