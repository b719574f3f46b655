"""Training callbacks. History records what fit saw, epoch by epoch."""


class History:
    """`history.history["loss"]`, `["val_accuracy"]`, ...: one value per epoch."""

    def __init__(self):
        self.history = {}
        self.epoch = []

    def record(self, epoch, logs):
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={sorted(self.history)})"
