"""The index's stemmer joins a word's inflected and derived forms, so that a query finds an article whichever form
each uses, and leaves short words whole."""

from __future__ import annotations

import pytest

from runtime.kb.text import stem


@pytest.mark.parametrize("forms", [
    ("reimburse", "reimbursing", "reimbursed", "reimbursement", "reimbursements", "reimbursable"),
    ("close", "closes", "closed", "closing"),
    ("order", "orders", "ordered", "ordering"),
    ("ship", "ships", "shipped", "shipping"),
    ("cancel", "cancels", "cancelled", "cancelling"),
    ("drucker", "druckers"),
])
def test_the_forms_of_a_word_meet(forms: tuple[str, ...]) -> None:
    assert len({stem(form) for form in forms}) == 1, {form: stem(form) for form in forms}


@pytest.mark.parametrize(("word", "kept"), [("comment", "comment"), ("payment", "payment"), ("table", "tabl"),
                                            ("bus", "bus"), ("class", "class")])
def test_short_stems_are_not_cut_further(word: str, kept: str) -> None:
    assert stem(word) == kept
