"""lamina.data: input pipelines for fit, evaluate and predict (see lamina.data.dataset).

    from lamina.data import Dataset
    model.fit(Dataset.from_npy(("x.npy", "y.npy")).shuffle().batch(64).prefetch(2), epochs=5)
"""

from lamina.data.dataset import Dataset

__all__ = ["Dataset"]
