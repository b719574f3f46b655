"""EarlyStopping: stop when a monitored metric has stopped improving."""

from lamina.callbacks.base import Callback, MonitoredQuantity
from lamina.functional.checks import check_int


class EarlyStopping(Callback):
    """Stop training after `patience` epochs without improvement of `monitor`.

    An improvement beats the best value so far by more than min_delta (mode as MonitoredQuantity).
    With a `baseline`, training also stops if the metric has not beaten it within `patience`
    epochs. Epochs before start_from_epoch are ignored (warm-up). With restore_best_weights the
    model ends training with the weights (and buffers) of its best epoch — whether training
    stopped early or ran to the end (Keras restores only on an early stop). verbose > 0
    prints Keras' lines: "Epoch N: early stopping", and which epoch's weights it restored.
    """

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, mode="auto", baseline=None,
                 restore_best_weights=False, start_from_epoch=0, verbose=0):
        patience = check_int("EarlyStopping", "patience", patience, 0)
        self.monitor = MonitoredQuantity("EarlyStopping", monitor, mode, min_delta)
        self.patience, self.baseline = patience, baseline
        self.restore_best_weights, self.start_from_epoch = restore_best_weights, start_from_epoch
        self.verbose = verbose

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch = 0, None
        self.best = self.monitor.worst if self.baseline is None else float(self.baseline)
        self.best_epoch, self.best_weights = None, None

    def on_epoch_end(self, epoch, logs=None):
        current = self.monitor.value(logs)
        if epoch < self.start_from_epoch:
            return
        self.wait += 1
        if self.monitor.improved(current, self.best):
            self.best, self.best_epoch, self.wait = current, epoch, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def state_dict(self):
        return {"wait": self.wait, "stopped_epoch": self.stopped_epoch, "best": self.best,
                "best_epoch": self.best_epoch, "best_weights": self.best_weights}

    def load_state_dict(self, state):
        self.wait, self.stopped_epoch = state["wait"], state["stopped_epoch"]
        self.best, self.best_epoch = state["best"], state["best_epoch"]
        self.best_weights = state["best_weights"]

    def on_train_end(self, logs=None):
        if self.stopped_epoch is not None and self.verbose:
            self.say(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)
            if self.verbose:
                self.say(f"Restoring model weights from the end of the best epoch: "
                         f"{self.best_epoch + 1}.")
