"""TEKUN's labour and supporter tests (民发〔2021〕43号; Jiangsu's tekun rules of 2022-08-01)."""

from __future__ import annotations

from gateway.domain import idnumber
from gateway.domain.enums import DisabilityType
from gateway.domain.rules.case import Member
from gateway.domain.rules.evaluation import Evaluation, rule

OLD_AGE = 60  # aged 60 or over (≥)
YOUNG_AGE = 16  # under 16 (<)
# The disability grades that mean no labour capacity, by type (grade 1 is the most severe).
NO_CAPACITY_GRADES: dict[DisabilityType, int] = {
    DisabilityType.INTELLECTUAL: 3,
    DisabilityType.MENTAL: 3,
    DisabilityType.PHYSICAL: 2,
    DisabilityType.VISUAL: 1,
}


def _why_no_capacity(member: Member, ev: Evaluation) -> str | None:
    age = idnumber.age_on(member.id_number, ev.case.as_of)
    if age >= OLD_AGE:
        return f"aged {age} (≥ {OLD_AGE})"
    if age < YOUNG_AGE:
        return f"aged {age} (< {YOUNG_AGE})"
    worst = NO_CAPACITY_GRADES.get(member.disability_type) if member.disability_type else None
    grade = member.disability_grade
    if worst is not None and grade is not None and grade <= worst:
        return f"{member.disability_type} disability grade {grade} (1–{worst})"
    return None


@rule("tekun.no_labour_capacity")
def no_labour_capacity(ev: Evaluation) -> tuple[bool, str]:
    findings = []
    passed = True
    for index, member in enumerate(ev.case.members):
        why = _why_no_capacity(member, ev)
        passed = passed and why is not None
        age = idnumber.age_on(member.id_number, ev.case.as_of)
        findings.append(f"member {index + 1}: {why or f'aged {age}, able to work'}")
    verdict = "no member has" if passed else "not every member lacks"
    return passed, f"{verdict} labour capacity: " + "; ".join(findings)


@rule("tekun.no_capable_supporter")
def no_capable_supporter(ev: Evaluation) -> tuple[bool, str]:
    supported = [i + 1 for i, m in enumerate(ev.case.members) if m.has_capable_supporter]
    if supported:
        listed = ", ".join(str(i) for i in supported)
        return False, f"member(s) {listed} have a legal supporter able to support them"
    return True, "no member has a legal supporter able to support them"
