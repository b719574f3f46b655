"""fit, evaluate and predict on a lamina.data.Dataset or an iterable of batches: the same
numbers as on arrays, each batch checked, and a Dataset's position kept by checkpoints."""

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.data import Dataset
from lamina.datasets import load_digits
from lamina.errors import (CheckpointError, ConfigError, DTypeError, GraphError, LabelError,
                           ShapeError)

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = pathlib.Path(__file__).with_name("fit_datasets_script.py")


@pytest.fixture(scope="module")
def digits():
    (x, y), _ = load_digits()
    return (x.reshape(len(x), -1) / 16.0).astype(np.float32)[:200], y[:200]


def mlp():
    lamina.seed(0)
    model = lamina.Sequential([L.Linear(64, 32), L.ReLU(), L.Dropout(0.3), L.Linear(32, 10)])
    return model.compile(loss="cross_entropy", optimizer="adam", metrics=["accuracy"])


def trained(data, **settings):
    model = mlp()
    history = model.fit(data, epochs=3, verbose=0, **settings)
    return model, history.history


def assert_same(one, two):
    (model_a, history_a), (model_b, history_b) = one, two
    for a, b in zip(model_a.get_weights(), model_b.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert history_a == history_b


def slices(x, y, size, weight=None):
    for i in range(0, len(x), size):
        part = slice(i, i + size)
        yield (x[part], y[part]) if weight is None else (x[part], y[part], weight[part])


def test_a_dataset_of_the_arrays_trains_bit_for_bit_as_the_arrays(digits):
    x, y = digits
    reference = trained(x, y=y, batch_size=32)
    assert_same(trained(Dataset.from_arrays(x, y).shuffle().batch(32)), reference)
    assert_same(trained(Dataset.from_arrays(x, y), batch_size=32), reference)  # fit batches it
    assert_same(trained(Dataset.from_arrays(x, y).shuffle().batch(32).prefetch(2)), reference)


def test_a_generator_of_the_same_batches_trains_as_the_arrays(digits):
    x, y = digits
    reference = trained(x, y=y, batch_size=50, shuffle=False)

    def endless():
        while True:
            yield from slices(x, y, 50)

    assert_same(trained(endless(), steps_per_epoch=4), reference)


def test_a_memory_mapped_dataset_trains_as_the_arrays(digits, tmp_path):
    x, y = digits
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    reference = trained(x, y=y, batch_size=32)
    assert_same(trained(Dataset.from_npy((tmp_path / "x.npy", tmp_path / "y.npy"))
                        .shuffle().batch(32).prefetch(3)), reference)


def test_sample_weights_from_arrays_a_dataset_and_class_weight_agree(digits):
    x, y = digits
    weight = np.where(y == 3, 4.0, 1.0)
    reference = trained(x, y=y, batch_size=40, sample_weight=weight)
    assert_same(trained(Dataset.from_arrays(x, y, sample_weight=weight).shuffle().batch(40)),
                reference)
    assert_same(trained(x, y=y, batch_size=40, class_weight={3: 4.0}), reference)
    unweighted = trained(x, y=y, batch_size=40)
    assert not np.array_equal(unweighted[0].get_weights()[0], reference[0].get_weights()[0])
    model = reference[0]
    logs = model.evaluate(x, y, sample_weight=weight)
    assert logs == model.evaluate(Dataset.from_arrays(x, y, weight).batch(64))
    assert logs["loss"] != model.evaluate(x, y)["loss"]


def test_validation_data_may_be_a_dataset(digits):
    x, y = digits
    reference = trained(x[:150], y=y[:150], validation_data=(x[150:], y[150:]))
    assert_same(trained(x[:150], y=y[:150],
                        validation_data=Dataset.from_arrays(x[150:], y[150:]).batch(16)),
                reference)
    assert "val_accuracy" in reference[1]


def test_evaluate_and_predict_on_a_dataset_equal_the_arrays(digits):
    x, y = digits
    model, _ = trained(x, y=y)
    shuffled = Dataset.from_arrays(x, y).shuffle().batch(64)
    assert model.evaluate(shuffled) == model.evaluate(x, y)
    np.testing.assert_array_equal(model.predict(shuffled), model.predict(x))  # in order
    np.testing.assert_array_equal(model.predict(Dataset.from_arrays(x), batch_size=7),
                                  model.predict(x))
    np.testing.assert_array_equal(model.predict_logits(slices(x, y, 30)),
                                  model.predict_logits(x))
    np.testing.assert_array_equal(model.predict(((part,) for part, _ in slices(x, y, 30)),
                                                steps=2), model.predict(x[:60]))
    np.testing.assert_array_equal(model.predict(part for part, _ in slices(x, y, 30)),
                                  model.predict(x))  # bare inputs
    assert model.evaluate(slices(x, y, 64)) == model.evaluate(x, y)
    assert model.evaluate(x, y, batch_size=50, steps=2) == model.evaluate(x[:100], y[:100])


def test_a_generator_needs_steps_per_epoch_and_the_epochs_share_it(digits):
    x, y = digits
    with pytest.raises(ConfigError, match="Sequential 'sequential'.fit needs steps_per_epoch"):
        mlp().fit(slices(x, y, 32), verbose=0)
    served = []

    def endless():
        while True:
            for batch in slices(x, y, 32):
                served.append(1)
                yield batch

    mlp().fit(endless(), epochs=2, steps_per_epoch=5, verbose=0)
    assert len(served) == 10  # the batch read ahead (checked before any step) is trained on


def test_a_generator_that_runs_out_stops_training_with_a_warning(digits):
    x, y = digits
    model = mlp()
    with pytest.warns(UserWarning, match="the data ran out after 7 of the steps_per_epoch=10"):
        history = model.fit(slices(x, y, 32), epochs=3, steps_per_epoch=10, verbose=0)
    assert history.epoch == [0] and model.optimizer.iterations == 7


def with_batch(batches, number, replacement):
    for i, batch in enumerate(batches):
        yield replacement(batch) if i == number else batch


@pytest.mark.parametrize("change, error, match", [
    (lambda b: (b[0][:, :60], b[1]), ShapeError,
     "batch 2 has x of shape \\(batch,\\) \\+ \\(60,\\), batch 0 had \\(batch,\\) \\+ \\(64,\\)"),
    (lambda b: (b[0].astype(np.float64), b[1]), DTypeError,
     "batch 2 has x of dtype float64, batch 0 had float32"),
    (lambda b: (b[0], b[1], np.ones(len(b[1]))), ConfigError, "batch 2 holds 3 parts"),
    (lambda b: (b[0], np.full_like(b[1], 12)), LabelError, "Batch 2 of the data: .*12"),
])
def test_a_batch_unlike_the_first_is_refused_naming_it(digits, change, error, match):
    x, y = digits
    with pytest.raises(error, match=match):
        mlp().fit(with_batch(slices(x, y, 32), 2, change), steps_per_epoch=6, verbose=0)


def test_a_batch_with_more_inputs_than_the_model_is_refused(digits):
    x, y = digits
    batches = [((part, part), labels) for part, labels in slices(x, y, 50)]
    with pytest.raises(GraphError, match="batch 0 holds 2 input arrays; Sequential "
                                         "'sequential' takes one input"):
        mlp().fit(iter(batches), steps_per_epoch=4, verbose=0)


def test_arguments_that_belong_to_arrays_are_refused_with_a_dataset(digits):
    x, y = digits
    dataset = Dataset.from_arrays(x, y).batch(32)
    for settings, match in [({"y": y}, "takes y only with arrays"),
                            ({"validation_split": 0.2}, "validation_split only with arrays"),
                            ({"sample_weight": np.ones(200)}, "sample_weight only with arrays"),
                            ({"batch_size": 16}, "leave batch_size out"),
                            ({"steps_per_epoch": 8}, "at most the 7 batches")]:
        with pytest.raises(ConfigError, match=match):
            mlp().fit(dataset, verbose=0, **settings)
    with pytest.raises(ConfigError, match="validation_data that can be read again"):
        mlp().fit(dataset, validation_data=slices(x, y, 32), verbose=0)


def test_checkpoints_need_a_dataset_or_arrays(digits, tmp_path):
    x, y = digits
    with pytest.raises(ConfigError, match="checkpoint=...\\) needs its data as arrays or a "
                                          "lamina.data.Dataset.*\\(generator\\)"):
        mlp().fit(slices(x, y, 32), steps_per_epoch=3, checkpoint=tmp_path / "run.ckpt")


class Crash(lamina.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if self.model.fit_state.epoch == 1 and batch == 4:
            raise KeyboardInterrupt


def test_a_fit_resumed_mid_epoch_on_a_dataset_equals_an_uninterrupted_one(digits, tmp_path):
    x, y = digits
    dataset = lambda: Dataset.from_arrays(x, y).shuffle().batch(32)
    reference = trained(dataset())
    with pytest.raises(KeyboardInterrupt):
        mlp().fit(dataset(), epochs=3, verbose=0, checkpoint=tmp_path / "run.ckpt",
                  checkpoint_freq=2, callbacks=[Crash()])
    resumed = mlp()
    history = resumed.fit(dataset(), epochs=3, verbose=0, checkpoint=tmp_path / "run.ckpt",
                          checkpoint_freq=2, resume=True)
    assert_same((resumed, history.history), reference)


def test_a_checkpoint_of_another_dataset_is_refused(digits, tmp_path):
    x, y = digits
    with pytest.raises(KeyboardInterrupt):
        mlp().fit(Dataset.from_arrays(x, y).shuffle().batch(32), epochs=3, verbose=0,
                  checkpoint=tmp_path / "run.ckpt", checkpoint_freq=2, callbacks=[Crash()])
    for other in (Dataset.from_arrays(x[::-1], y[::-1]).shuffle().batch(32),
                  Dataset.from_arrays(x, y).shuffle(seed=1).batch(32)):
        with pytest.raises(CheckpointError, match="the training or validation data differ"):
            mlp().fit(other, epochs=3, verbose=0, checkpoint=tmp_path / "run.ckpt",
                      checkpoint_freq=2, resume=True)


def run_script(out, *args):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT),
                                                                    os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, str(SCRIPT), str(out), *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGKILL"), reason="no SIGKILL here")
def test_a_run_on_memory_mapped_files_sigkilled_mid_epoch_resumes_bit_for_bit(tmp_path):
    done = run_script(tmp_path / "reference.json")
    assert done.returncode == 0, done.stderr
    killed = run_script(tmp_path / "run.json", "--checkpoint", tmp_path / "run.ckpt",
                        "--kill-at", 1, 4)
    assert killed.returncode == -9 and (tmp_path / "run.ckpt").exists()
    resumed = run_script(tmp_path / "run.json", "--checkpoint", tmp_path / "run.ckpt")
    assert resumed.returncode == 0, resumed.stderr
    assert "after step 2/10 of epoch 2/3" in resumed.stdout  # saved every 3 steps of the run
    assert (tmp_path / "run.json").read_text() == (tmp_path / "reference.json").read_text()


def two_inputs():
    lamina.seed(0)
    a, b = lamina.Input((64,), name="a"), lamina.Input((64,), name="b")
    out = L.Linear(None, 10)(L.Concatenate(axis=1)([a, b]))
    return lamina.Model([a, b], out).compile(loss="cross_entropy", optimizer="sgd")


def test_a_model_of_two_inputs_trains_on_dict_batches_and_refuses_one_input(digits):
    x, y = digits
    reference = two_inputs()
    reference.fit({"a": x, "b": 1 - x}, y, batch_size=50, shuffle=False, verbose=0)
    model = two_inputs()
    model.fit(Dataset.from_arrays({"a": x, "b": 1 - x}, y).batch(50), verbose=0)
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(GraphError, match="Batch 0 of the data: .*expects 2 inputs \\['a', "
                                         "'b'\\].* Received: one ndarray"):
        two_inputs().fit(Dataset.from_arrays(x, y).batch(50), verbose=0)
