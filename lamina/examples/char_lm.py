"""A character-level language model on Shakespeare: ``python -m lamina.examples.char_lm``.

Learns to predict each next character of the opening of Coriolanus (public domain, shipped
in the package: lamina.datasets.load_coriolanus) with Embedding -> LSTM -> a per-position
linear map, and prints a sample of generated text after every few epochs. Needs no network.
"""

import argparse

import numpy as np

import lamina
from lamina import layers as L
from lamina.callbacks import Callback
from lamina.datasets import load_coriolanus


def vocabulary(text):
    """The sorted characters of text and the text as int64 ids into them."""
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    return chars, np.array([index[c] for c in text], np.int64)


def windows(ids, length, stride):
    """Inputs ids[i:i+length] and targets ids[i+1:i+length+1] every `stride` characters."""
    starts = np.arange(0, len(ids) - length - 1, stride)
    x = ids[starts[:, None] + np.arange(length)]
    return x, ids[starts[:, None] + np.arange(1, length + 1)]


def build_model(vocab, width=128):
    """Embedding 32 -> LSTM(width) -> per-position Linear(width, vocab) -> (N, vocab, T)."""
    return lamina.Sequential([
        L.Embedding(vocab, 32), L.LSTM(32, width), L.TimeDistributed(L.Linear(width, vocab)),
        L.Permute((2, 1)),  # (N, T, V) -> (N, V, T): cross-entropy over positions, as PyTorch
    ], name="char_lstm")


def sample(model, chars, prompt, length=200, temperature=0.8, context=64, rng=None):
    """prompt followed by `length` characters drawn one at a time from the model."""
    rng = np.random.default_rng(rng)
    index = {c: i for i, c in enumerate(chars)}
    ids = [index[c] for c in prompt if c in index] or [0]
    for _ in range(length):
        logits = model.predict(np.array([ids[-context:]]))[0, :, -1] / temperature
        probs = np.exp(logits - logits.max())
        ids.append(int(rng.choice(len(chars), p=probs / probs.sum())))
    return "".join(chars[i] for i in ids)


class PrintSamples(Callback):
    """Every `every` epochs, print the loss and a generated sample."""

    def __init__(self, chars, every, length, seed):
        super().__init__()
        self.chars, self.every, self.length, self.seed = chars, every, length, seed

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            text = sample(self.model, self.chars, "First Citizen:\n", self.length, rng=self.seed)
            print(f"-- epoch {epoch + 1}, loss {logs['loss']:.3f} --\n{text}\n", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30, help="passes over the text (default 30)")
    parser.add_argument("--length", type=int, default=64, help="characters per sequence (64)")
    parser.add_argument("--lr", type=float, default=5e-3, help="Adam learning rate (5e-3)")
    parser.add_argument("--every", type=int, default=5, help="print a sample every N epochs (5)")
    parser.add_argument("--sample", type=int, default=160,
                        help="characters per printed sample (160)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    lamina.seed(args.seed)
    chars, ids = vocabulary(load_coriolanus())
    x, y = windows(ids, args.length, stride=args.length // 2)
    model = build_model(len(chars))
    model.compile(loss="cross_entropy", optimizer=lamina.optim.Adam(lr=args.lr))
    print(f"char_lm: {len(ids)} characters, {len(chars)} distinct, {len(x)} sequences of "
          f"{args.length}.")
    history = model.fit(x, y, epochs=args.epochs, batch_size=32, verbose=0,
                        callbacks=[PrintSamples(chars, args.every, args.sample, args.seed)])
    return {"loss": history.history["loss"][-1], "model": model, "chars": chars}


if __name__ == "__main__":
    main()
