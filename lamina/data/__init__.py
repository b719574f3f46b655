"""Datasets as arrays or lazy sources, with batching, shuffling and prefetch, for fit,
evaluate and predict."""
