"""The audit trail: recording who read or changed what (recorder), and the hash chain that makes
any later edit or deletion detectable (chain, sealer)."""

from gateway.audit.recorder import ANONYMOUS, record_change, record_request

__all__ = ["ANONYMOUS", "record_change", "record_request"]
