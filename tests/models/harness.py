"""Shared checks for the zoo: a few training steps on digits, and save/load round trips."""

import numpy as np

import lamina


def digits(size, count=128):
    """The first `count` digits (8x8), standardised (pixel mean 0, std 1 over the set) and
    zero-padded to (count, 1, size, size): the border reads as an average pixel."""
    (x, y), _ = lamina.datasets.load_digits()
    offset = (size - 8) // 2
    images = np.zeros((count, 1, size, size), np.float32)
    images[:, 0, offset:offset + 8, offset:offset + 8] = (x[:count] - x.mean()) / x.std()
    return images, y[:count].astype(np.int64)


def training_losses(model, x, y, cycles=4, batch_size=32, lr=3e-3):
    """Per-step losses of Adam over the batches of (x, y), cycled `cycles` times in order,
    so the first and the last cycle see the same batches."""
    model.compile(loss="cross_entropy", optimizer=lamina.optim.Adam(lr=lr))
    model.train()
    losses = []
    for _ in range(cycles):
        for start in range(0, len(x), batch_size):
            loss, _ = model.train_step(x[start:start + batch_size], y[start:start + batch_size])
            losses.append(loss)
    return np.array(losses)


def assert_loss_falls(model, size, factor=0.5, **options):
    """Train `model` on digits padded to size x size; the last cycle's mean loss must be at
    most `factor` times the first's (the same batches, so the comparison is fair)."""
    x, y = digits(size)
    losses = training_losses(model, x, y, **options)
    assert np.all(np.isfinite(losses)), losses
    per_cycle = losses.reshape(options.get("cycles", 4), -1).mean(axis=1)
    assert per_cycle[-1] < factor * per_cycle[0], f"mean loss per cycle did not fall: {per_cycle}"
    return per_cycle


def assert_save_load_round_trip(model, x, path):
    """model.save -> lamina.load_model: same architecture, state and predictions (bitwise)."""
    model.save(path)
    loaded = lamina.load_model(path)
    assert loaded.get_config() == model.get_config()
    state, loaded_state = model.state_dict(), loaded.state_dict()
    assert list(loaded_state) == list(state)
    for name, value in state.items():
        np.testing.assert_array_equal(loaded_state[name], value, err_msg=name)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    return loaded
