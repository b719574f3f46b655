"""Tier 1: pure forward/backward kernels, one op family per file."""
