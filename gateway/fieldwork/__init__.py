"""Fieldwork (DOMAIN.md, "Dynamic monitoring" and "Priority groups for the survey"): the random
sample of covered households for home visits (随机抽查), the survey list of priority households
not yet covered (重点摸底排查), the visits that town and grid workers report (日常走访), and the
households' verification authorisations (核对授权书).

    sampling.py        pure: a reproducible stratified draw
    population.py      the households a sample is drawn from, and the recorded draw
    survey.py          the six priority groups as one statement per page
    visits.py          the changes a visit reports: parsed (pure), applied, audited, queued
    authorisations.py  recording and withdrawing authorisations; who is missing one
"""
