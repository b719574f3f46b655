"""Inference models: batch norm folded into the preceding conv or linear layer, bias and
activation fused, dropout removed, and int8 post-training quantisation (tier 4)."""

from lamina.inference.folding import fold, fold_batch_norm
from lamina.inference.fused import Fused
from lamina.inference.quantization import Quantized, quantize

__all__ = ["fold", "fold_batch_norm", "Fused", "quantize", "Quantized"]
