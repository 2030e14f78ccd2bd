"""Dynamic monitoring (动态监测): comparison rules, warnings and their routing, life and delivery.

rules.py       the comparison rules: pure functions from a household's facts to findings
facts.py       loading those facts for many households in a few statements
routing.py     the routing table (kind × hardship type → agencies, due, severity), in memory
compare.py     comparison passes (full, incremental) reconciling findings with warnings
lifecycle.py   the life of a warning: its moves, made and recorded; overdue escalation
access.py      who sees which warnings and who may move them
queries.py     the statements the API reads warnings with
queue.py       the households waiting for an incremental comparison
notices.py     the outbox of what each agency is told (subscription and webhooks)
calendar.py    working days, from the calendar kept as data
worker.py      the serving process's background comparison and escalation
"""
