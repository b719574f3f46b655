"""Tier 3: graphs of layers. ``lamina.Input`` makes a symbolic tensor, calling a layer on
symbolic tensors records a node (tensor.py), ``lamina.Model(inputs, outputs)`` orders the
nodes (topology.py) and runs them forward and backward (engine.py); Sequential runs its
chain on the same engine.

This package imports nothing at import time: lamina.layers.base imports tensor.py, and the
model module imports lamina.layers.
"""
