"""Numbers, shares and business durations written for a reader of the page's language."""

from __future__ import annotations

import datetime as dt

from runtime.pages.i18n import Translator


def number(value: float, t: Translator, digits: int = 1) -> str:
    """Rounded to at most ``digits`` decimals (no trailing zeros), with the language's decimal mark."""
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:.0f}"
    return text.replace(".", t("format.decimal_mark"))


def percent(share: float | None, t: Translator) -> str:
    return t("common.none") if share is None else f"{number(round(share * 100, 1), t)} %"


def duration(seconds: int | None, t: Translator) -> str:
    """Business time in hours and minutes (a business day is not 24 hours, so days would mislead)."""
    if seconds is None:
        return t("common.none")
    minutes = (seconds + 30) // 60
    if minutes < 1:
        return t("format.under_a_minute")
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return t("format.minutes", m=minutes)
    return t("format.hours_minutes", h=hours, m=minutes) if minutes else t("format.hours", h=hours)


def short_day(day: dt.date, t: Translator) -> str:
    return t("format.short_day", day=day.day, month=day.month)
