"""Dropout masks as model.fit draws them: from lamina's generator, a whole batch at a time.

In model.fit every Dropout layer draws ``random((B,) + features)`` from lamina's generator
in each step, layer after layer in forward order. Distributed, the driver sends the
generator's state at each step (step_states, which then moves lamina's generator on by the
draws fit makes in that step), and a shard draws the same whole-batch arrays from a copy of
that state and keeps the rows of the batch it holds (BatchRowsGenerator). So a row's mask
is the one fit gives it in that batch, whatever the sharding and on every retry, and the
generator ends a step where fit's would. The price: each shard draws the whole batch's
uniforms (B x features per Dropout layer), and the driver draws them once more.

>>> state = np.random.default_rng(0).bit_generator.state
>>> whole = BatchRowsGenerator(state, 4, np.arange(4)).random((4, 3))
>>> bool(np.all(BatchRowsGenerator(state, 4, np.array([1, 3])).random((2, 3)) == whole[[1, 3]]))
True
"""

import contextlib

import numpy as np

from lamina.backend import get_rng, rng_state
from lamina.distributed.replica import replica, walk
from lamina.errors import ShapeError
from lamina.layers.dropout import Dropout

__all__ = ["BatchRowsGenerator", "batch_dropout", "dropout_draws", "step_states"]


def _shape(size):
    return (size,) if isinstance(size, (int, np.integer)) else tuple(size or ())


class BatchRowsGenerator(np.random.Generator):
    """A numpy Generator at `state` whose ``random((len(positions), ...))`` is the rows
    `positions` of ``random((batch_rows, ...))``: a shard's rows of the whole batch's draw."""

    def __init__(self, state, batch_rows, positions):
        bit_generator = getattr(np.random, state["bit_generator"])()
        bit_generator.state = state
        super().__init__(bit_generator)
        self.batch_rows, self.positions = batch_rows, np.asarray(positions)

    def random(self, size=None, dtype=np.float64, out=None):
        shape = _shape(size)
        if not shape or shape[0] != len(self.positions) or out is not None:
            raise ShapeError(f"BatchRowsGenerator.random draws (rows, ...) arrays for its "
                             f"{len(self.positions)} rows of a batch of {self.batch_rows}. "
                             f"Received: size={size!r}{', out=...' if out is not None else ''}")
        return super().random((self.batch_rows,) + shape[1:], dtype)[self.positions]


class _Recorder(np.random.Generator):
    """Records the (features, dtype) of each random() draw; returns zeros."""

    def __init__(self):
        super().__init__(np.random.PCG64(0))
        self.draws = []

    def random(self, size=None, dtype=np.float64, out=None):
        shape = _shape(size)
        self.draws.append((shape[1:], np.dtype(dtype).name))
        return np.zeros(shape, dtype)


@contextlib.contextmanager
def _dropout_rng(model, rng):
    layers = [layer for layer in walk(model) if isinstance(layer, Dropout)]
    for layer in layers:
        layer.rng = rng
    try:
        yield
    finally:
        for layer in layers:
            layer.rng = None


def batch_dropout(model, state, batch_rows, positions):
    """Meanwhile, every Dropout layer of model draws from one BatchRowsGenerator."""
    return _dropout_rng(model, BatchRowsGenerator(state, batch_rows, positions))


def dropout_draws(spec):
    """[(features, dtype)] of the draws one training step of the model makes, in order
    (a forward pass of one row of zeros through a replica, recorded; its weights do not
    matter, and a round loads its own into it)."""
    model = replica(spec)
    model.train()
    recorder = _Recorder()
    x = np.zeros((1,) + tuple(spec["input_shape"][1:]), model.dtype)
    with np.errstate(all="ignore"), _dropout_rng(model, recorder):
        model.run([x], model.fused_outputs())
    return recorder.draws


def step_states(draws, plan, epoch, first, count):
    """lamina's generator state at the start of steps first .. first + count - 1 of epoch,
    moving it on by each step's draws as model.fit's Dropout layers would."""
    states = []
    for step in range(first, first + count):
        states.append(rng_state())
        rows = len(plan.batch(epoch, step))
        for features, dtype in draws:
            get_rng().random((rows,) + tuple(features), dtype=np.dtype(dtype))
    return states
