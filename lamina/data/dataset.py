"""Dataset: examples from arrays or .npy files, shuffled, batched, mapped and prefetched.

    train = (Dataset.from_npy(("x.npy", "y.npy"))   # memory-mapped: larger than memory is fine
             .shuffle()                              # a new order every epoch, lamina.seed's
             .map(augment)                           # fn(x, y) -> (x, y), on each batch
             .batch(64)
             .prefetch(2))                           # batches gathered in a background thread
    model.fit(train, epochs=10, checkpoint="run.ckpt")

Each item is a tuple (x, y) or (x, y, sample_weight) with x and y nested as given (one
array, or a tuple, list or dict of arrays; y None when none was given). Iterating a batched
Dataset runs one epoch: batches of `n` examples in the epoch's order (the last one smaller
unless drop_last); an unbatched one yields single examples (fit batches it with its
batch_size, shuffling it when fit's shuffle=True and the Dataset does not shuffle itself).
Only the rows of the batches in flight are ever read: gathering is by index, one batch at a
time, so a memory-mapped source trains with memory bounded by a few batches.

map(fn) is vectorised: fn takes and returns a whole batch, wherever map stands in the chain
(before batch() too; an unbatched Dataset hands it a batch of one). The functions run in the
caller's thread, in order, so whatever they draw from lamina's generator repeats exactly
after lamina.seed; prefetch(k) gathers (reads and copies) the next k batches in a thread.

A Dataset knows where it is: ``epoch``, ``position`` (batches handed out in this epoch) and
``order`` (the epoch's example order, drawn when the epoch starts; None without shuffle).
state_dict() / load_state_dict() save and restore them, and fit's checkpoints keep them, so
a run killed mid-epoch resumes with the very next batch. Each method returns a new Dataset
(at epoch 0, position 0); iterate one Dataset in one loop at a time.
"""

import numpy as np

from lamina.backend import get_rng
from lamina.data.prefetch import Prefetcher
from lamina.data.sources import array_source, npy_source
from lamina.data.structure import take
from lamina.errors import ConfigError
from lamina.functional.checks import check_bool, check_int

__all__ = ["Dataset"]


class Dataset:
    """A pipeline over an ArraySource (lamina.data.sources): build one with from_arrays or
    from_npy, then chain shuffle, map, batch and prefetch."""

    def __init__(self, source, *, shuffled=False, seed=None, batch_size=None,
                 drop_last=False, maps=(), prefetch=0):
        self.source, self.shuffled, self.seed = source, shuffled, seed
        self.batch_size, self.drop_last = batch_size, drop_last
        self.maps, self.prefetch_size = tuple(maps), prefetch
        self.epoch, self.position, self.order = 0, 0, None

    # -- making one ---------------------------------------------------------------------
    @classmethod
    def from_arrays(cls, x, y=None, sample_weight=None):
        """Examples from arrays in memory (or np.memmap), all N long: x and y each one array
        or a tuple, list or dict of arrays, as fit takes them; sample_weight (N,)."""
        return cls(array_source(x, y, sample_weight))

    @classmethod
    def from_npy(cls, paths, mmap=True):
        """Examples from .npy files: `paths` is (x, y[, sample_weight]) (or one path, x
        alone), each part a path or a tuple, list or dict of paths. mmap=True leaves the files
        on disk (mapped read-only, for their shapes) and reads only the rows of each batch,
        so the data may be larger than memory and memory holds the batches in flight, no
        more (see lamina.data.npy); False loads them into memory."""
        return cls(npy_source(paths, check_bool("Dataset.from_npy", "mmap", mmap)))

    def _with(self, **changes):
        settings = dict(shuffled=self.shuffled, seed=self.seed, batch_size=self.batch_size,
                        drop_last=self.drop_last, maps=self.maps, prefetch=self.prefetch_size)
        settings.update(changes)
        return Dataset(self.source, **settings)

    def map(self, fn):
        """Apply fn(x, y[, sample_weight]) -> (x, y[, sample_weight]) to every batch."""
        if not callable(fn):
            raise ConfigError(f"Dataset.map expects a function fn(x, y[, sample_weight]) -> "
                              f"(x, y[, sample_weight]). Received: {fn!r}")
        return self._with(maps=self.maps + (fn,))

    def shuffle(self, seed=None):
        """A new example order every epoch: drawn from lamina's generator when the epoch
        starts (seed=None, so lamina.seed(s) fixes it), or from `seed` and the epoch number.
        Comes before batch(): batches are made of shuffled examples."""
        seed = check_int("Dataset.shuffle", "seed", seed, 0, alternatives=(None,))
        if self.shuffled:
            raise ConfigError(f"Dataset.shuffle: this Dataset is already shuffled "
                              f"(seed={self.seed}); shuffle once.")
        if self.batch_size is not None:
            raise ConfigError(f"Dataset.shuffle comes before batch(): examples are shuffled, "
                              f"then batched. Received: shuffle after batch({self.batch_size})")
        return self._with(shuffled=True, seed=seed)

    def batch(self, n, drop_last=False):
        """Batches of n examples; the last one smaller unless drop_last (then it is left out)."""
        n = check_int("Dataset.batch", "n", n, 1)
        drop_last = check_bool("Dataset.batch", "drop_last", drop_last)
        if self.batch_size is not None:
            raise ConfigError(f"Dataset.batch: this Dataset is already batched "
                              f"(batch({self.batch_size})). Received: batch({n})")
        if drop_last and n > self.examples:
            raise ConfigError(f"Dataset.batch({n}, drop_last=True) of {self.examples} examples "
                              f"leaves no batch at all.")
        return self._with(batch_size=n, drop_last=drop_last)

    def in_order(self):
        """The same examples, maps, batching and prefetch, unshuffled and from the start:
        what evaluate and predict read (predictions line up with the examples)."""
        return self._with(shuffled=False, seed=None)

    def prefetch(self, k):
        """Gather the next k batches in a background thread (a bounded queue of k) while the
        caller works; an error there is raised in the caller, at that batch."""
        k = check_int("Dataset.prefetch", "k", k, 1)
        return self._with(prefetch=k)

    # -- what it holds ------------------------------------------------------------------
    @property
    def examples(self):
        """N, the number of examples."""
        return self.source.examples

    @property
    def batched(self):
        return self.batch_size is not None

    @property
    def has_sample_weight(self):
        return len(self.source.element) == 3

    def __len__(self):
        """Batches per epoch (examples, when unbatched)."""
        if self.batch_size is None:
            return self.examples
        return self.examples // self.batch_size if self.drop_last else \
            -(-self.examples // self.batch_size)

    def fingerprint(self):
        """SHA-256 (hex) of the data and of the pipeline (order, batching, the functions'
        names): what a checkpoint recognises its data by."""
        from lamina.callbacks.backup import fingerprint

        pipeline = np.frombuffer(repr((
            self.shuffled, self.seed, self.batch_size, self.drop_last,
            [getattr(fn, "__qualname__", type(fn).__name__) for fn in self.maps]
        )).encode(), np.uint8)
        return fingerprint(np.frombuffer(self.source.fingerprint().encode(), np.uint8),
                           pipeline)

    def __repr__(self):
        steps = [f"shuffle({'' if self.seed is None else self.seed})"] if self.shuffled else []
        steps += [f"map({getattr(fn, '__name__', 'fn')})" for fn in self.maps]
        if self.batched:
            steps.append(f"batch({self.batch_size}{', drop_last=True' if self.drop_last else ''})")
        if self.prefetch_size:
            steps.append(f"prefetch({self.prefetch_size})")
        return f"Dataset({self.source.describe()}){''.join('.' + s for s in steps)}"

    # -- where it is --------------------------------------------------------------------
    def state_dict(self):
        """{"epoch", "position", "order"}: where iteration stands (order None unshuffled or
        before the epoch's order is drawn)."""
        return {"epoch": self.epoch, "position": self.position, "order": self.order}

    def load_state_dict(self, state):
        """Go back to a state_dict(): the next iteration goes on from that position."""
        where = "Dataset.load_state_dict"
        if not isinstance(state, dict) or not {"epoch", "position", "order"} <= set(state):
            raise ConfigError(f"{where} expects a state_dict() of a Dataset (epoch, position, "
                              f"order). Received: {state!r:.80}")
        epoch = check_int(where, "epoch", state["epoch"], 0)
        position = check_int(where, "position", state["position"], 0, len(self))
        order = state["order"]
        if order is not None:
            order = np.asarray(order)
            if order.shape != (self.examples,) or order.dtype.kind not in "iu":
                raise ConfigError(f"{where} expects order as {self.examples} example indices. "
                                  f"Received: shape {order.shape}, dtype {order.dtype}")
        self.epoch, self.position, self.order = epoch, position, order

    # -- iterating ----------------------------------------------------------------------
    def epoch_order(self):
        """The current epoch's example order (None: in order), drawn now if not yet."""
        if self.shuffled and self.order is None:
            rng = get_rng() if self.seed is None else np.random.default_rng([self.seed,
                                                                               self.epoch])
            self.order = rng.permutation(self.examples)
        return self.order

    def __iter__(self):
        """The rest of the current epoch (all of it from position 0); its order is drawn
        here, in the caller's thread, before any batch is gathered."""
        return self._iterate(self.epoch_order())

    def _rows(self, order, step):
        size = self.batch_size or 1
        if order is None:
            return slice(step * size, min((step + 1) * size, self.examples))
        return order[step * size:(step + 1) * size]

    def _iterate(self, order):
        gathered = (self.source.gather(self._rows(order, step))
                    for step in range(self.position, len(self)))
        prefetcher = Prefetcher(gathered, self.prefetch_size) if self.prefetch_size else None
        try:
            for element in prefetcher or gathered:
                for fn in self.maps:
                    element = _mapped(fn, element)
                if not self.batched:
                    element = take(element, 0)
                self.position += 1
                yield element
            self.epoch, self.position, self.order = self.epoch + 1, 0, None
        finally:
            if prefetcher is not None:
                prefetcher.close()


def _mapped(fn, element):
    result = fn(*element)
    if not isinstance(result, (tuple, list)) or len(result) != len(element):
        name = getattr(fn, "__qualname__", repr(fn))
        parts = "(x, y, sample_weight)" if len(element) == 3 else "(x, y)"
        raise ConfigError(f"Dataset.map: {name} takes {parts} and must return {parts}. "
                          f"Received: {type(result).__name__}"
                          + (f" of length {len(result)}" if isinstance(result, (tuple, list))
                             else ""))
    return tuple(result)
