"""The console's two languages: Chinese (zh-CN, the default) and English.

Words live in `messages.py`, one entry per key with both languages, so that a missing translation
is a test failure rather than a blank on a page. Dates, times, money and numbers are formatted by
Babel with the language's conventions (2026年12月6日, ¥1,234.50); times are shown in China
Standard Time, whatever the server's zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal

from gateway.console.messages import MESSAGES

LANGUAGES = ("zh-CN", "en")
DEFAULT = "zh-CN"
_BABEL = {"zh-CN": "zh_CN", "en": "en"}
CHINA = timezone(timedelta(hours=8), "CST")
LANGUAGE_COOKIE = "lig_lang"


def chosen(value: str | None) -> str:
    """A supported language from a cookie or a form value; anything else is the default."""
    return value if value in LANGUAGES else DEFAULT


class Translator:
    """Everything a template needs to put words, dates and money on a page in one language."""

    def __init__(self, language: str) -> None:
        self.language = chosen(language)
        self._locale = _BABEL[self.language]
        self._index = LANGUAGES.index(self.language)

    def __call__(self, key: str, **values: Any) -> str:
        entry = MESSAGES.get(key)
        if entry is None:
            return key  # an unknown key shows as itself (tests check every key has both)
        text = entry[self._index]
        return text.format(**values) if values else text

    def term(self, group: str, value: str | None) -> str:
        """An enumeration value (`kind`, `status` …) in words; unknown values as they are."""
        if value is None:
            return "—"
        return self(f"{group}.{value}") if f"{group}.{value}" in MESSAGES else value

    @property
    def html_lang(self) -> str:
        return self.language

    def date(self, value: date | str | None) -> str:
        if value is None or value == "":
            return "—"
        day = date.fromisoformat(value[:10]) if isinstance(value, str) else value
        return format_date(
            day, "long" if self.language == "zh-CN" else "medium", locale=self._locale
        )

    def datetime(self, value: datetime | str | None) -> str:
        if value is None or value == "":
            return "—"
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        pattern = "yyyy年M月d日 HH:mm" if self.language == "zh-CN" else "MMM d, yyyy HH:mm"
        return format_datetime(moment, pattern, tzinfo=CHINA, locale=self._locale)

    def money(self, value: Decimal | float | str | None) -> str:
        if value is None or value == "":
            return "—"
        return format_currency(Decimal(str(value)), "CNY", locale=self._locale)

    def number(self, value: int | float | Decimal | None) -> str:
        if value is None:
            return "—"
        return format_decimal(value, locale=self._locale)
