"""Runnable examples: ``python -m lamina.examples.<name>``."""
