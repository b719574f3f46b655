import numpy as np
import pytest

import lamina
from lamina.errors import ConfigError
from lamina.models import TransformerClassifier


def test_learns_a_token_task_and_round_trips_through_a_file(tmp_path):
    lamina.seed(0)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 10, (192, 8))
    y = (x[:, 2] >= 5).astype(int)  # the class is the token at one position
    model = TransformerClassifier(10, 2, 8, d_model=16, nhead=2, num_layers=1,
                                  dim_feedforward=32, dropout=0.0)
    model.compile(loss="cross_entropy", optimizer=lamina.optim.Adam(lr=0.01),
                  metrics=["accuracy"])
    model.fit(x, y, epochs=30, batch_size=32, verbose=0)
    assert model.evaluate(x, y)["accuracy"] >= 0.95
    model.save(tmp_path / "t.lamina")
    loaded = lamina.load_model(tmp_path / "t.lamina")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_bad_arguments():
    with pytest.raises(ConfigError, match="TransformerClassifier expects vocab_size"):
        TransformerClassifier(0, 2, 8)
    with pytest.raises(ConfigError, match="embed_dim divisible by num_heads"):
        TransformerClassifier(10, 2, 8, d_model=10, nhead=4)
