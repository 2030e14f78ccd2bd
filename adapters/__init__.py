"""Upstream adapters (the national system, agency feeds), each with a simulator. Issue 6."""
