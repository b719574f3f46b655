"""Inference models: batch norm folded into the preceding conv or linear layer, bias and
activation fused, dropout removed, and int8 post-training quantisation (tier 4)."""
