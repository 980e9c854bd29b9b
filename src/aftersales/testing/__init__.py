"""Test support shipped with the library (Hypothesis strategies, stateful bases, contracts)."""
