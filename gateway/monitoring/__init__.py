"""Dynamic monitoring (动态监测): comparison rules, warnings and their routing, life and delivery.

rules.py       the comparison rules: pure functions from a household's facts to findings
facts.py       loading those facts for many households in a few statements
routing.py     the routing table (kind × hardship type → agencies, due, severity), in memory
compare.py     reconciling findings with the open warnings: open, join, clear
lifecycle.py   the life of a warning: who may move it where, every step audited
queue.py       the households waiting for an incremental comparison
notices.py     the outbox of what each agency is told (subscription and webhooks)
calendar.py    working days, from the calendar kept as data
"""
