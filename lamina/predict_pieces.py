"""Inference in pieces: each batch runs as row pieces that fit in cache, on every thread.

predict and evaluate hand each batch to run_in_pieces, which cuts its rows into pieces of
about PIECE_BYTES of input (at least MIN_ROWS rows, evenly sized) and runs the model on
each piece inside inference_mode, the pieces at once on lamina's threads
(functional.parallel.run_chunks, BLAS at one thread in each), then joins the outputs in row
order. Two things pay: a piece's activations stay in cache from one layer to the next
(a (256, 32, 32, 32) float32 activation is 33 MB: out of cache, and, past glibc's 32 MB
limit for reusing freed memory, faulted into fresh pages at every layer), and all the work
between the matrix products (copies, pools, normalisations, activations) runs on every core
instead of one.

The pieces are the same with one thread or many, and each is computed by the same
operations, so the outputs do not depend on the thread count, bit for bit. They can differ
from one forward over the whole batch in the last bits (a matrix product's rounding depends
on its row count), as predict with another batch_size does. Every lamina layer treats the
examples of a batch independently in inference; a layer of one's own that does not (one
that mixes rows in eval mode) sets the class attribute ``rows_independent = False``, and
then its model's batches run whole, on this thread.
"""

import math

import numpy as np

from lamina.functional.parallel import run_chunks
from lamina.layers.mode import inference_mode

__all__ = ["PIECE_BYTES", "MIN_ROWS", "row_pieces", "run_in_pieces"]

PIECE_BYTES = 2**18  # input bytes per piece (its activations are then a few MB at most)
MIN_ROWS = 16  # fewer rows per piece make each layer's call overhead count


def row_pieces(rows, bytes_per_row):
    """Slices that cut `rows` rows into even pieces of about PIECE_BYTES (>= MIN_ROWS rows)."""
    size = max(MIN_ROWS, PIECE_BYTES // max(1, bytes_per_row))
    count = max(1, math.ceil(rows / size))
    bounds = [rows * k // count for k in range(count + 1)]
    return [slice(bounds[k], bounds[k + 1]) for k in range(count)]


def run_in_pieces(run, xs, split=True):
    """run(piece) -> list of outputs, over row pieces of the input arrays xs (a list, rows
    first), joined in row order: one list of arrays, as run(xs) would give. split=False
    runs the batch whole, on this thread (still in inference_mode)."""
    rows = len(xs[0])
    bytes_per_row = sum(array[:1].nbytes for array in xs)
    pieces = row_pieces(rows, bytes_per_row) if split and rows else [slice(0, rows)]

    def one(part):
        with inference_mode():
            return run([array[part] for array in xs])

    outputs = run_chunks(one, pieces)
    if len(outputs) == 1:
        return outputs[0]
    return [np.concatenate([piece[k] for piece in outputs]) for k in range(len(outputs[0]))]
