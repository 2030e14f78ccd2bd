"""Assessing one household from an assessment request (CONTRACT.md), without the database.

    parse_request(payload) -> AssessmentRequest       (InvalidInput names each bad field)
    assess_request(payload, stored) -> Assessment     (MissingStandard names an unset figure)
    answer_text(assessment) -> str                    (the JSON `lig assess` prints)

Callers that have a database look up the stored standards for the request's region and date
first (`gateway.standards.in_force`) and pass them as `stored`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gateway.assessment.request import AssessmentRequest, parse_request
from gateway.domain.rules import Assessment, Standards, assess


def assess_parsed(request: AssessmentRequest, stored: Standards | None = None) -> Assessment:
    standards = (stored or Standards()).overridden_by(request.given_standards())
    return assess(request.case(), standards)


def assess_request(payload: Mapping[str, Any], stored: Standards | None = None) -> Assessment:
    return assess_parsed(parse_request(payload), stored)


def answer_text(assessment: Assessment) -> str:
    """The answer as JSON, with the per-capita income as a number with two places (1000.00)."""
    answer = assessment.as_json()
    income = answer.pop("per_capita_monthly_income")
    reasons = answer.pop("reasons")
    head = json.dumps(answer, ensure_ascii=False)[:-1]
    body = json.dumps(reasons, ensure_ascii=False)
    return f'{head}, "per_capita_monthly_income": {income:f}, "reasons": {body}}}'


__all__ = ["AssessmentRequest", "answer_text", "assess_parsed", "assess_request", "parse_request"]
