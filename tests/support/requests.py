"""Assessment requests for tests: the CONTRACT.md example and its camelCase GraphQL twin."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

EXAMPLE_PATH = Path(__file__).parent.parent / "data" / "contract_example.json"


def example(**changes: Any) -> dict[str, Any]:
    """The CONTRACT.md request, with top-level fields replaced (None removes one)."""
    request: dict[str, Any] = json.loads(EXAMPLE_PATH.read_text(encoding="utf-8"))
    for key, value in changes.items():
        if value is None:
            request.pop(key, None)
        else:
            request[key] = copy.deepcopy(value)
    return request


def camelize(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            re.sub(r"_([a-z])", lambda m: m.group(1).upper(), k): camelize(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [camelize(v) for v in value]
    return value


ASSESS = """
query($input: AssessmentInput!) {
  assess(input: $input) { category eligible perCapitaMonthlyIncome reasons { rule passed detail } }
}
"""
