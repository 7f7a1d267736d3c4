"""Transmission (RPC): the state mapping; the adapter comes with issue 4."""
