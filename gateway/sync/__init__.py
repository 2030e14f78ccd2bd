"""Keeping the database in step with its upstreams: the national system (sync, monthly export)
and the agency feeds. The adapters (`adapters/`) speak to the upstreams; these services store
what they bring, page by page, each page in one transaction with its checkpoint."""
