"""The five conduct exclusions, shared by all four categories (苏民规〔2021〕1号)."""

from __future__ import annotations

from gateway.domain.rules.evaluation import Evaluation, Rule

_EXCLUSIONS = {
    "refused_investigation": "refused to cooperate with the investigation of the household",
    "refused_authorisation": "refused, or gave a false or incomplete, verification authorisation",
    "deliberate_disposal": "deliberately gave up property or income",
    "high_consumption": "high consumption",
    "refuses_work": "a member of working age able to work refuses work without good reason",
}


def _exclusion(flag: str, text: str) -> Rule:
    def check(ev: Evaluation) -> tuple[bool, str]:
        if getattr(ev.case.conduct, flag):
            return False, text
        return True, f"not recorded: {text}"

    return Rule(f"conduct.{flag}", check)


CONDUCT = tuple(_exclusion(flag, text) for flag, text in _EXCLUSIONS.items())
