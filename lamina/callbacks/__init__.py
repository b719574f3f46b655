"""Training callbacks: hooks that fit calls around epochs and batches.

    model.fit(x, y, epochs=50, validation_split=0.1, callbacks=[
        EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True),
        ModelCheckpoint("best.lamina", save_best_only=True),
        ReduceLROnPlateau(factor=0.5, patience=2),
        Monitor(every=50),                 # per-layer statistics and warnings (before CSVLogger)
        CSVLogger("training.csv"),
        BackupAndRestore("run.ckpt"),      # crash recovery: a killed run resumes exactly
    ])

fit adds a ProgressLogger (the progress bar and the per-epoch table) itself, by its verbose.
"""

from lamina.callbacks.backup import BackupAndRestore
from lamina.callbacks.base import Callback, CallbackList, History
from lamina.callbacks.checkpoint import ModelCheckpoint
from lamina.callbacks.early_stopping import EarlyStopping
from lamina.callbacks.learning_rate import LearningRateScheduler, ReduceLROnPlateau
from lamina.callbacks.logging import CSVLogger, TerminateOnNaN
from lamina.callbacks.monitor import Monitor
from lamina.callbacks.progress import ProgressLogger

__all__ = ["Callback", "CallbackList", "History", "Monitor", "EarlyStopping", "ModelCheckpoint",
           "LearningRateScheduler", "ReduceLROnPlateau", "CSVLogger", "TerminateOnNaN",
           "BackupAndRestore", "ProgressLogger"]
