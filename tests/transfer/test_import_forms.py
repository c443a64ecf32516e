"""``cli.py import`` has kinds now (``mail``, ``tickets``); what was written before them, ``import PATH...`` with
or without ``--mailbox``, still means mail. (tests/intake/test_commands.py runs the old form end to end.)"""

from __future__ import annotations

import pytest

import cli
from runtime.transfer.commands import mail_by_default

OPTIONS = ("--root", "--database-url")


@pytest.mark.parametrize(("given", "read"), [
    (["import", "a.eml"], ["import", "mail", "a.eml"]),
    (["--root", "import", "import", "--mailbox", "care", "box"], ["--root", "import", "import", "mail", "--mailbox",
                                                                  "care", "box"]),
    # A folder called mail is the kind's name: it needs the new form, import mail mail/.
    (["--database-url=sqlite://", "import", "mail"], ["--database-url=sqlite://", "import", "mail"]),
    (["import", "mail", "a.eml"], ["import", "mail", "a.eml"]),
    (["import", "tickets", "--from", "x.csv"], ["import", "tickets", "--from", "x.csv"]),
    (["import", "--help"], ["import", "--help"]),
    (["export", "--to", "import"], ["export", "--to", "import"]),
])
def test_a_first_word_that_names_no_kind_means_mail(given: list[str], read: list[str]) -> None:
    assert mail_by_default(given, OPTIONS) == read


def test_both_forms_parse_to_the_mail_import() -> None:
    old = cli.parser().parse_args(mail_by_default(["import", "--mailbox", "care", "a.eml", "b.mbox"], OPTIONS))
    new = cli.parser().parse_args(["import", "mail", "--mailbox", "care", "a.eml", "b.mbox"])
    assert (old.kind, old.paths, old.mailbox) == (new.kind, new.paths, new.mailbox) == ("mail", ["a.eml", "b.mbox"],
                                                                                     "care")
