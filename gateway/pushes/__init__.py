"""Agencies push assistance records and monitoring events: validated, idempotent, in bulk."""
