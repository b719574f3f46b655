import os

import numpy as np

import lamina
from lamina.callbacks import ModelCheckpoint


def test_every_epoch_with_a_formatted_name(regression, tmp_path):
    model, x, y = regression
    pattern = str(tmp_path / "ckpt" / "m-{epoch:02d}-{loss:.4f}.lamina")
    history = model.fit(x, y, epochs=3, verbose=0, callbacks=[ModelCheckpoint(pattern)])
    names = sorted(os.listdir(tmp_path / "ckpt"))
    assert names == [f"m-{e + 1:02d}-{loss:.4f}.lamina"
                     for e, loss in enumerate(history.history["loss"])]
    last = lamina.load_model(tmp_path / "ckpt" / names[-1])
    np.testing.assert_array_equal(last.predict(x), model.predict(x))


def test_best_only_keeps_the_best_epoch(regression, tmp_path):
    model, x, y = regression
    path = tmp_path / "best.lamina"
    saved = []

    class Spy(ModelCheckpoint):
        def on_epoch_end(self, epoch, logs=None):
            before = os.path.getmtime(path) if path.exists() else None
            super().on_epoch_end(epoch, logs)
            if path.exists() and os.path.getmtime(path) != before or (before is None and path.exists()):
                saved.append((logs["val_loss"], model.predict(x)))

    model.optimizer.lr = 0.4  # oscillates: some epochs are worse than the best
    history = model.fit(x, y, epochs=6, batch_size=8, validation_split=0.25, verbose=0,
                        callbacks=[Spy(path, monitor="val_loss", save_best_only=True)])
    best = min(history.history["val_loss"])
    assert saved and saved[-1][0] == best
    np.testing.assert_array_equal(lamina.load_model(path).predict(x), saved[-1][1])


def test_verbose_prints_keras_lines_for_each_epoch(fake_model, tmp_path, capsys):
    from .conftest import drive
    fake_model.save = lambda path, include_optimizer: open(path, "w").close()
    path = str(tmp_path / "m-{epoch}.lamina")
    drive(ModelCheckpoint(path, save_best_only=True, verbose=1), fake_model, [0.5, 0.7, 0.25])
    assert capsys.readouterr().out == (
        f"Epoch 1: val_loss improved from inf to 0.50000, saving model to {tmp_path}/m-1.lamina\n"
        f"Epoch 2: val_loss did not improve from 0.50000\n"
        f"Epoch 3: val_loss improved from 0.50000 to 0.25000, saving model to "
        f"{tmp_path}/m-3.lamina\n")
    drive(ModelCheckpoint(path, verbose=1), fake_model, [0.5])
    assert capsys.readouterr().out == f"Epoch 1: saving model to {tmp_path}/m-1.lamina\n"
    drive(ModelCheckpoint(path), fake_model, [0.5])
    assert capsys.readouterr().out == ""
