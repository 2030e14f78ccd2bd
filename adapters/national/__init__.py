"""The national social-assistance information system (金民工程): its wire format, the signed
client, and a simulator that plays it. The interface is documented in
openapi/national-system.yaml, exported from `wire.py`."""
