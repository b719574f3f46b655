"""Feed: the batches fit, evaluate and predict iterate, from a Dataset or any iterable.

    feed = Feed("Sequential.fit", data, steps=None)   # a Dataset, or batches (x, y[, w])
    for step, batch in feed.epoch(model.fit_state): ...
    x, y, sample_weight = feed.unpack(batch, step)    # checked against the first batch

A Dataset is positioned at the FitState's epoch, step and order before each epoch (so a resumed
fit goes on from the very batch it stopped at) and hands back the order it draws. An iterable
with len() (a re-iterable object; a list or tuple is taken as arrays) is iterated afresh every
epoch, `steps` batches of it (all by default). An iterator without len() (a generator) needs
`steps` (ConfigError otherwise) and is shared by the epochs, as Keras does: each epoch takes the
next `steps` batches; if it ends sooner, ``exhausted`` is set and the epoch ends there. Neither
kind of iterable can be fingerprinted nor positioned mid-epoch (only replayed from its start),
so only a Dataset or arrays can be checkpointed (``resumable``).
"""

import itertools

import numpy as np

from lamina.backend import rng_state, set_rng_state
from lamina.data.dataset import Dataset
from lamina.data.structure import leaves
from lamina.errors import ConfigError, DTypeError, ShapeError

__all__ = ["Feed", "is_batches"]

PARTS = ("x", "y", "sample_weight")


def is_batches(data):
    """True for what Feed takes: a Dataset, or an iterable that is not itself an array (nor
    array-like: a DataFrame, a tensor), a tuple, list or dict of arrays, or a string."""
    if isinstance(data, Dataset):
        return True
    if isinstance(data, (np.ndarray, tuple, list, dict, str, bytes)) or data is None or \
            hasattr(data, "__array__"):
        return False
    return hasattr(data, "__iter__") or hasattr(data, "__next__")


class Feed:
    """Batches per epoch from `data` (a Dataset, or an iterable of (x, y[, sample_weight])).

    steps: batches per epoch (fit's steps_per_epoch; evaluate's and predict's steps): at
    most len(data) where there is one, needed where there is none unless require_steps
    is False (evaluate and predict then read the iterable to its end). checked: the
    batches are the model's own arrays already (lists, checked whole before): fit's arrays."""

    def __init__(self, where, data, steps=None, require_steps=True, checked=False):
        self.where, self.data, self.exhausted, self.checked = where, data, False, checked
        self.dataset = data if isinstance(data, Dataset) else None
        length = len(data) if hasattr(data, "__len__") else None
        if steps is not None and length is not None and steps > length:
            raise ConfigError(f"{where} expects steps_per_epoch of at most the {length} batches "
                              f"of the data. Received: steps_per_epoch={steps}")
        if steps is None and length is None and require_steps:
            raise ConfigError(f"{where} needs steps_per_epoch with data that has no len() (a "
                              f"generator or iterator of batches, which may be endless): how "
                              f"many batches make an epoch. Received: a "
                              f"{type(data).__name__} and steps_per_epoch=None")
        self.steps = length if steps is None else steps
        self.shared = self.dataset is None and (length is None or iter(data) is data)
        self._iterator, self._pending, self._first = None, [], None

    @property
    def resumable(self):
        """True for a Dataset, whose position a checkpoint can record."""
        return self.dataset is not None

    def first(self):
        """The first batch, read ahead: an iterable's is still the first epoch's first; a
        Dataset's is read aside (in order), lamina's generator left as it was (its maps may
        draw), so that training goes exactly as without the look."""
        if self.dataset is not None:
            random_state = rng_state()
            try:
                return next(iter(self.dataset.in_order()))
            finally:
                set_rng_state(random_state)
        if not self._pending:
            self._iterator = iter(self.data)
            try:
                self._pending.append(next(self._iterator))
            except StopIteration:
                raise ConfigError(f"{self.where}: the data holds no batch at all.") from None
        return self._pending[0]

    def epoch(self, state):
        """(step, batch) for the steps of `state.epoch` from `state.step` on (a FitState, or
        anything with epoch, step and order; order is set to the Dataset's)."""
        if self.dataset is not None:
            self.dataset.load_state_dict({"epoch": state.epoch, "position": state.step,
                                          "order": state.order})
            batches = owned = iter(self.dataset)
            state.order = self.dataset.order
        elif self._pending:  # the epoch whose first batch first() read ahead
            batches, owned = itertools.chain(self._pending, self._iterator), self._iterator
            self._pending = []
        elif self.shared and self._iterator is not None:
            batches = owned = self._iterator
        else:
            batches = owned = self._iterator = iter(self.data)
        steps = itertools.count(state.step) if self.steps is None else \
            range(state.step, self.steps)
        try:
            for step in steps:
                try:
                    batch = next(batches)
                except StopIteration:
                    self.exhausted = self.steps is not None
                    return
                yield step, batch
        finally:
            if not self.shared and hasattr(owned, "close"):
                owned.close()  # a Dataset's epoch: its prefetch thread stops

    def unpack(self, batch, number, parts=(2, 3)):
        """(x, y, sample_weight) of one batch (y, sample_weight None where absent), which must
        be a tuple or list of len in `parts` and keep the first batch's layout: the same
        nesting, and each array the same shape after the batch axis and the same dtype."""
        if not isinstance(batch, (tuple, list)) or len(batch) not in parts:
            what = " or ".join(("(x,)", "(x, y)", "(x, y, sample_weight)")[n - 1] for n in parts)
            received = (f"a {type(batch).__name__} of {len(batch)}"
                        if isinstance(batch, (tuple, list)) else type(batch).__name__)
            raise ConfigError(f"{self.where} expects each batch as {what}. Received: batch "
                              f"{number} is {received}")
        layout = [(name, len(leaves(part)), [(np.shape(a)[1:], np.asarray(a).dtype)
                                             for a in leaves(part)])
                  for name, part in zip(PARTS, batch)]
        if self._first is None:
            self._first = layout
        elif layout != self._first:
            raise self._differs(layout, number)
        return (*batch, None, None)[:3]

    def _differs(self, layout, number):
        """The error saying how batch `number` differs from batch 0."""
        if len(layout) != len(self._first):
            return ConfigError(f"{self.where}: batch {number} holds {len(layout)} parts "
                               f"({', '.join(PARTS[:len(layout)])}), batch 0 held "
                               f"{len(self._first)}; every batch must have the same parts.")
        for (name, count, arrays), (_, first_count, first_arrays) in zip(layout, self._first):
            if count != first_count:
                return ConfigError(f"{self.where}: batch {number} holds {count} arrays as "
                                   f"{name}, batch 0 held {first_count}; every batch must "
                                   f"hold as many (one per input or output of the model).")
            for i, ((shape, dtype), (first_shape, first_dtype)) in enumerate(
                    zip(arrays, first_arrays)):
                array = name if count == 1 else f"{name}[{i}]"
                if shape != first_shape:
                    return ShapeError(f"{self.where}: batch {number} has {array} of shape "
                                      f"(batch,) + {shape}, batch 0 had (batch,) + "
                                      f"{first_shape}; every batch of the data must keep one "
                                      f"shape after the batch axis.")
                if dtype != first_dtype:
                    return DTypeError(f"{self.where}: batch {number} has {array} of dtype "
                                      f"{dtype}, batch 0 had {first_dtype}; every batch of "
                                      f"the data must keep one dtype.")
        return ConfigError(f"{self.where}: batch {number} is nested unlike batch 0 (dict keys "
                           f"or tuple structure differ).")
