"""The driver's checkpoint after every epoch, and resume=True after a crash."""

import json

import numpy as np
import pytest

import lamina
from lamina.callbacks import CSVLogger, EarlyStopping, ReduceLROnPlateau
from lamina.distributed import DistributedTrainer, LocalEngine
from lamina.distributed.checkpoint import KEY
from lamina.errors import CheckpointError
from lamina.io import read_model_file
from tests.distributed.harness import Crash, conv_net, data, same_weights


def run(path, sync, resume=False, callbacks=(), epochs=3, global_seed=5, delete=False,
        data_seed=0, **options):
    x, y = data(seed=data_seed)
    model = conv_net(dropout=0.3)
    lamina.seed(global_seed)  # the trainer draws its seed from lamina's generator
    trainer = DistributedTrainer(model, LocalEngine(2), sync=sync,  # the seed is drawn
                                 local_steps=2 if sync == "local" else 1)
    history = trainer.fit(x, y, epochs=epochs, batch_size=8, checkpoint=path, resume=resume,
                          callbacks=list(callbacks), verbose=0, delete_checkpoint=delete,
                          **options)
    return model, history


@pytest.mark.parametrize("sync", ["step", "local"])
@pytest.mark.parametrize("crash", [Crash(epoch=1), Crash(epoch=2, batch=3)],
                         ids=["end-of-epoch", "mid-epoch"])
def test_a_resumed_run_ends_as_an_uninterrupted_one_bit_for_bit(tmp_path, sync, crash):
    whole, whole_history = run(tmp_path / "whole.lamina", sync)
    with pytest.raises(RuntimeError, match="driver crash"):
        run(tmp_path / "crashed.lamina", sync, callbacks=[crash])
    # a restarted driver draws other numbers: the run's seed comes from the checkpoint
    resumed, history = run(tmp_path / "crashed.lamina", sync, resume=True, global_seed=7)
    assert same_weights(resumed, whole)
    assert resumed.optimizer.iterations == whole.optimizer.iterations
    for p, q in zip(resumed.parameters(), whole.parameters()):
        assert all(np.array_equal(a, b) for a, b in zip(
            resumed.optimizer.state[p].values(), whole.optimizer.state[q].values()))
    assert history.epoch == [0, 1, 2] and history.history == whole_history.history


def test_the_checkpoint_is_a_model_file_of_the_last_epoch(tmp_path):
    model, _ = run(tmp_path / "run.lamina", "step", epochs=2)
    restored = lamina.load_model(tmp_path / "run.lamina")
    x, _ = data()
    assert np.array_equal(restored.predict(x), model.predict(x))


def test_the_checkpoint_is_removed_when_fit_ends_normally_by_default(tmp_path):
    run(tmp_path / "run.lamina", "step", epochs=1, delete=True)
    assert not (tmp_path / "run.lamina").exists()


def test_resume_without_a_checkpoint_file_starts_from_scratch(tmp_path):
    fresh, _ = run(tmp_path / "a.lamina", "step", epochs=2)
    resumed, _ = run(tmp_path / "b.lamina", "step", resume=True, epochs=2)
    assert same_weights(fresh, resumed)


def test_a_checkpoint_of_another_run_is_refused_with_the_differences(tmp_path):
    run(tmp_path / "run.lamina", "step", epochs=1)
    x, y = data()
    trainer = DistributedTrainer(conv_net(dropout=0.3), LocalEngine(2), seed=99)
    with pytest.raises(CheckpointError, match=r"batch_size: checkpoint 8, this run 4.*"
                                              r"seed: checkpoint \d+, this run 99"):
        trainer.fit(x, y, epochs=2, batch_size=4, checkpoint=tmp_path / "run.lamina",
                    resume=True, verbose=0)
    other_model = conv_net(norm=lamina.layers.LayerNorm([3, 6, 6]))
    with pytest.raises(CheckpointError, match="the model's weights"):
        DistributedTrainer(other_model, LocalEngine(2)).fit(
            x, y, epochs=2, batch_size=8, checkpoint=tmp_path / "run.lamina", resume=True,
            verbose=0)


def stateful_callbacks(directory):
    return [ReduceLROnPlateau(monitor="loss", patience=2, min_delta=1.0),
            EarlyStopping(monitor="loss", patience=4, min_delta=1.0),
            CSVLogger(directory / "log.csv")]


@pytest.mark.parametrize("sync", ["step", "local"])
def test_callback_states_are_resumed_so_the_run_ends_as_an_uninterrupted_one(tmp_path, sync):
    (tmp_path / "whole").mkdir(), (tmp_path / "crashed").mkdir()
    whole, whole_history = run(tmp_path / "whole.lamina", sync, epochs=8,
                               callbacks=stateful_callbacks(tmp_path / "whole"))
    assert len(whole_history.epoch) < 8  # EarlyStopping stopped it
    assert min(whole_history.history["lr"]) < 1e-2  # after ReduceLROnPlateau cut the rate
    crashed = stateful_callbacks(tmp_path / "crashed")
    with pytest.raises(RuntimeError, match="driver crash"):
        run(tmp_path / "crashed.lamina", sync, epochs=8, callbacks=crashed + [Crash(epoch=2)])
    crashed[-1].on_train_end()  # a crash leaves the CSV file open; close it
    resumed, history = run(tmp_path / "crashed.lamina", sync, resume=True, global_seed=7,
                           epochs=8, callbacks=stateful_callbacks(tmp_path / "crashed"))
    assert same_weights(resumed, whole)
    assert resumed.optimizer.lr == whole.optimizer.lr
    assert history.history == whole_history.history and history.epoch == whole_history.epoch
    assert (tmp_path / "crashed" / "log.csv").read_text() == \
        (tmp_path / "whole" / "log.csv").read_text()


def saved_position(path):
    progress = json.loads(read_model_file(path)[1][KEY])
    return progress["epoch"], progress["step"]


@pytest.mark.parametrize("sync, freq", [("step", 3), ("local", 1)])
def test_step_level_checkpoints_resume_inside_an_epoch(tmp_path, sync, freq):
    whole, whole_history = run(tmp_path / "whole.lamina", sync)
    with pytest.raises(RuntimeError, match="driver crash"):
        run(tmp_path / "crashed.lamina", sync, callbacks=[Crash(epoch=2, batch=3)],
            checkpoint_freq=freq)
    # step 3: 3 rounds of epoch 2 done in step mode, the 12th of the run saved; 2: one round
    # of local_steps=2 (the crash comes in the next round, before its checkpoint)
    assert saved_position(tmp_path / "crashed.lamina") == (2, 2)
    resumed, history = run(tmp_path / "crashed.lamina", sync, resume=True, global_seed=7,
                           checkpoint_freq=freq)
    assert same_weights(resumed, whole)
    assert history.history == whole_history.history


def test_resuming_on_other_data_or_callbacks_is_refused(tmp_path):
    run(tmp_path / "run.lamina", "step", epochs=1, callbacks=[EarlyStopping(monitor="loss")])
    with pytest.raises(CheckpointError, match="data: the data differ"):
        run(tmp_path / "run.lamina", "step", resume=True, data_seed=1,
            callbacks=[EarlyStopping(monitor="loss")])
    with pytest.raises(CheckpointError, match=r"validation data differ"):
        run(tmp_path / "run.lamina", "step", resume=True, validation_data=data(n=5),
            callbacks=[EarlyStopping(monitor="loss")])
    with pytest.raises(CheckpointError, match=r"callbacks with state \(checkpoint: "
                                              r"\['EarlyStopping', 'History'\]; this run: "
                                              r"\['History'\]"):
        run(tmp_path / "run.lamina", "step", resume=True)
