"""A small Transformer classifier for token sequences (Vaswani et al. 2017, encoder only)."""

from lamina import layers as L
from lamina.models.blocks import check_count
from lamina.model import Sequential


def TransformerClassifier(vocab_size, num_classes, max_length, d_model=64, nhead=4,
                          num_layers=2, dim_feedforward=128, dropout=0.1, padding_idx=None):
    """Token ids (N, T), T <= max_length -> (N, num_classes) logits:

        Embedding(vocab_size, d_model) + PositionalEmbedding(max_length, d_model)
        -> num_layers x TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout)
        -> mean over the T positions (Permute + GlobalAvgPool1D) -> Linear(d_model, classes)

    Post-norm encoder layers as PyTorch's default. 76,042 parameters with the defaults for a
    vocabulary of 100, 10 classes and max_length 32.

    >>> TransformerClassifier(100, 10, 32).output_shape((None, 32))
    (None, 10)
    >>> TransformerClassifier(100, 10, 32).count_params()
    76042
    """
    vocab_size = check_count("TransformerClassifier", "vocab_size", vocab_size)
    num_classes = check_count("TransformerClassifier", "num_classes", num_classes)
    num_layers = check_count("TransformerClassifier", "num_layers", num_layers)
    return Sequential([
        L.Embedding(vocab_size, d_model, padding_idx=padding_idx, name="embedding"),
        L.PositionalEmbedding(max_length, d_model, name="position"),
        *[L.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout, name=f"encoder{i}")
          for i in range(num_layers)],
        L.Permute((2, 1)), L.GlobalAvgPool1D(),
        L.Linear(d_model, num_classes, name="classifier"),
    ], name="transformer_classifier")
