"""Webhooks: warning notices POSTed to the agencies' own endpoints, signed, at least once.

- `endpoints`: an agency registers an endpoint (URL rules, a secret shown once and kept
  encrypted), rotates its secret, deactivates it; reads them back.
- `secrets`: the endpoint secrets, encrypted at rest with LIG_WEBHOOK_SECRET_KEY (Fernet).
- `signing`: the X-Lig-* headers and `verify`, the check a receiver makes (copy it).
- `payload`: the JSON body: the notice and a summary of its warning, nothing personal.
- `schedule`: the retry schedule (pure).
- `sender`: claims due deliveries (SKIP LOCKED on PostgreSQL), POSTs them with no transaction
  open, records each attempt and schedules the next; `lig serve` runs it in the background,
  `lig webhooks run` on its own.
- `log`: the delivery log an agency reads, and replaying deliveries from a notice id.

The deliveries themselves are written with the notices (gateway/monitoring/notices.py), in the
transaction of the change they tell of.
"""
