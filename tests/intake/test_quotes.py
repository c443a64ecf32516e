"""Quote and signature stripping: written cases, and the talon corpus's replies with their expected texts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from runtime.intake.mail.html_text import html_to_text
from runtime.intake.mail.message import parse_mail
from runtime.intake.mail.quotes import new_text, strip_quotes, strip_signature
from tests.intake.mail_fixtures import MAIL_DATA, require_data

TALON = MAIL_DATA / "talon"
# talon's own test: a reply whose expected text is not given in a "<name>_reply_text" file is "Hello"; the HTML
# replies all say the same, compared without whitespace.
TALON_DEFAULT_REPLY = "Hello"
TALON_HTML_REPLY = "Hi. I am fine.\n\nThanks,\nAlex"


def test_top_posted_reply_loses_the_attribution_and_the_quote() -> None:
    text = "Thanks, that worked.\n\nOn Tue, 3 Mar 2026 at 10:15, Alex Morgan <alex@example.org> wrote:\n> Try again.\n"
    assert strip_quotes(text) == "Thanks, that worked."


def test_attribution_wrapped_over_two_lines_is_removed_whole() -> None:
    text = "Done.\n\nAm 03.03.2026 um 10:15 schrieb Alex Morgan\n<alex@example.org>:\n\n> Bitte neu starten.\n"
    assert strip_quotes(text) == "Done."


def test_bottom_posted_reply_keeps_the_text_below_the_quote() -> None:
    text = "On 03/03/2026 10:15, Alex wrote:\n> Did you restart it?\n\nYes, twice.\n"
    assert strip_quotes(text) == "Yes, twice."


def test_interleaved_answers_are_kept_and_the_quoted_questions_dropped() -> None:
    text = ("Alex wrote:\n> Which model?\nHP LaserJet 4000.\n> Which floor?\nThe second.\n")
    assert strip_quotes(text) == "HP LaserJet 4000.\nThe second."


def test_outlook_header_block_cuts_the_history() -> None:
    text = ("Works now.\n\n________________________________\nFrom: Service desk <it@example.org>\n"
            "Sent: Tuesday, March 3, 2026 10:15\nTo: Maria Lopez\nSubject: RE: Printer\n\nPlease restart it.\n")
    assert strip_quotes(text) == "Works now."


def test_german_outlook_header_block_cuts_the_history() -> None:
    text = ("Geht wieder.\n\nVon: Service Desk <it@example.org>\nGesendet: Dienstag, 3. März 2026 10:15\n"
            "An: Jonas Weber\nBetreff: AW: Drucker\n\nBitte neu starten.\n")
    assert strip_quotes(text) == "Geht wieder."


def test_original_message_separator_cuts_the_history() -> None:
    assert strip_quotes("Yes.\n\n-----Original Message-----\nFrom: a@b.org\nHello") == "Yes."


def test_a_sentence_about_writing_is_not_an_attribution() -> None:
    text = "On Monday I wrote the report, see below:\nThe figures are in the attachment."
    assert strip_quotes(text) == text


def test_attribution_with_history_not_quoted_cuts_the_rest() -> None:
    assert strip_quotes("Yes.\n\nOn 3 Mar 2026, at 10:15, Alex wrote:\n\nDid you restart it?") == "Yes."


def test_a_single_from_line_in_the_text_is_not_history() -> None:
    text = "From: the accounting team we still need the invoice.\nRegards"
    assert strip_quotes(text) == text


def test_a_colon_before_a_quoted_log_without_address_or_date_stays() -> None:
    text = "Here is the error:\n> Segmentation fault\nWhat now?"
    assert strip_quotes(text) == "Here is the error:\nWhat now?"


def test_forwarded_mail_keeps_its_history() -> None:
    text = ("See below.\n\n---------- Forwarded message ---------\nFrom: Bob <bob@example.net>\n"
            "Date: Mon, 2 Mar 2026\nSubject: Broken\nTo: Maria\n\nThe machine is broken.")
    assert strip_quotes(text) == text
    assert strip_quotes(text, forwarded=True) == text


def test_signature_after_the_delimiter_is_removed() -> None:
    assert strip_signature("Please call me.\n\n-- \nMaria Lopez\nNorthwind Logistics\n+49 30 1234") == \
        "Please call me."


def test_long_text_after_a_delimiter_is_not_taken_for_a_signature() -> None:
    text = "Log follows\n--\n" + "\n".join(f"line {i}" for i in range(30))
    assert strip_signature(text) == text


def test_mobile_signature_line_is_removed() -> None:
    assert new_text("On my way.\n\nSent from my iPhone") == "On my way."


def test_html_reply_quotes_become_quoted_lines_and_are_stripped() -> None:
    html = ('<div>Fixed, thanks!</div><div class="gmail_quote">On Tue, Mar 3, 2026 at 10:15 AM Alex '
            '&lt;alex@example.org&gt; wrote:<br><blockquote>Did you restart it?</blockquote></div>')
    assert html_to_text(html) == ("Fixed, thanks!\nOn Tue, Mar 3, 2026 at 10:15 AM Alex <alex@example.org> wrote:\n"
                                  "> Did you restart it?")
    assert strip_quotes(html_to_text(html)) == "Fixed, thanks!"


def _talon_cases() -> list[Path]:
    folder = TALON / "standard_replies"
    return sorted(folder.glob("*.eml")) if folder.exists() else []


def test_talon_standard_replies_match_their_expected_text_after_quote_stripping() -> None:
    """All 12 of talon's standard replies (Apache-2.0, © Mailgun) give talon's expected text.

    These cases were in view while the rules were written, so they show the rules work on real clients' formats,
    not how well they generalise; the written cases above are the other half."""
    require_data(TALON / "standard_replies")
    cases = _talon_cases()
    passed: list[str] = []
    failed: list[str] = []
    for path in cases:
        mail = parse_mail(path.read_bytes())
        expected_file = path.with_name(path.stem + "_reply_text")
        expected = expected_file.read_text().strip() if expected_file.exists() else TALON_DEFAULT_REPLY
        (passed if strip_quotes(mail.text) == expected else failed).append(path.name)
    assert len(cases) == 12
    assert (len(passed), failed) == (12, [])


@pytest.mark.parametrize("name", ["gmail", "hotmail", "mail_ru", "ms_outlook_2003", "ms_outlook_2007",
                                  "ms_outlook_2010", "thunderbird", "windows_mail", "yandex_ru"])
def test_talon_html_replies_match_after_conversion_and_quote_stripping(name: str) -> None:
    path = require_data(TALON / "html_replies" / f"{name}.html")
    stripped = strip_quotes(html_to_text(path.read_text(encoding="utf-8")))
    assert re.sub(r"\s", "", stripped) == re.sub(r"\s", "", TALON_HTML_REPLY)
