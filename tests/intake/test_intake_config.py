"""Intake settings in tessera.yaml (rules, webhooks, IMAP, near duplicates): every mistake at once, with its line."""

from __future__ import annotations

from pathlib import Path

from runtime.config.desk import validate
from tests.intake.test_mailbox_config import report_for

MAILBOX = """mail:
  mailboxes:
    it: {address: it@example.org, type: repair}
  default_mailbox: it
"""


def test_the_shipped_desk_declares_rules_a_webhook_and_a_listener() -> None:
    desk, errors = validate(Path(__file__).resolve().parents[2])
    assert not errors
    assert desk is not None
    intake = desk.project.intake
    assert [r.name for r in intake.rules][:2] == ["network words", "sign-in words"]
    monitoring = intake.webhook("monitoring")
    assert monitoring is not None
    assert (monitoring.type, monitoring.tolerance_seconds) == ("it_support", 300)
    assert dict(monitoring.fields)["title"] == "alert.summary"
    assert desk.project.listener is not None
    assert desk.project.listener.max_bytes == 25 * 1024 * 1024
    assert intake.near_window_seconds == 3 * 86400


def test_rule_mistakes_are_reported_with_their_lines(tmp_path: Path) -> None:
    report = report_for(tmp_path, MAILBOX + """intake:
  rules:
    - {keywords: [vpn], set: {category: softwares}}
    - {pattern: "(unclosed", set: {priority: P1}}
    - {set: {type: repairs}}
    - {keywords: [printer], set: {}}
""")
    assert report == """tessera.yaml:11:41 intake.rules[0].set.category: not a category of the desk
    expected: one of hardware, software
    found: 'softwares'
    hint: did you mean 'software'?
tessera.yaml:12:17 intake.rules[1].pattern: not a valid regular expression
    found: '(unclosed'
    hint: missing ), unterminated subpattern at position 0
tessera.yaml:13:7 intake.rules[2]: rule without a condition: it would apply to every ticket
    expected: keywords, pattern, sender_domains or channels
tessera.yaml:13:20 intake.rules[2].set.type: unknown ticket type
    expected: one of repair
    found: 'repairs'
    hint: did you mean 'repair'?
tessera.yaml:14:34 intake.rules[3].set: rule sets nothing
    expected: type, category, priority or tags
5 errors in the definitions"""


def test_webhook_mistakes_are_reported_with_their_lines(tmp_path: Path) -> None:
    report = report_for(tmp_path, MAILBOX + """intake:
  webhooks:
    alerts:
      type: repairs
      secret_env: ALERTS_SECRET
      requester: "contact email"
      fields:
        description: "{{ payload.text "
        status: state
""")
    assert report == """tessera.yaml:12:13 intake.webhooks.alerts.type: unknown ticket type
    expected: one of repair or a template
    found: 'repairs'
    hint: did you mean 'repair'?
tessera.yaml:14:18 intake.webhooks.alerts.requester: not a path into the payload nor a template
    expected: a dotted path such as 'alert.title', or a template such as '{{ payload.alert.title }}'
    found: 'contact email'
tessera.yaml:15:7 intake.webhooks.alerts.fields: no title
    expected: fields.title: where the ticket's title comes from
tessera.yaml:16:22 intake.webhooks.alerts.fields.description: not a valid Jinja2 template
    found: '{{ payload.text '
    hint: line 1: unexpected end of template, expected 'end of print statement'.
tessera.yaml:17:9 intake.webhooks.alerts.fields.status: not a field a webhook can fill (set by the runtime)
    found: 'status'
    hint: a webhook can fill title, description, priority, category, tags, language, impact, asset, fault
5 errors in the definitions"""


def test_imap_and_near_duplicate_mistakes_are_reported(tmp_path: Path) -> None:
    report = report_for(tmp_path, """mail:
  mailboxes:
    it:
      address: it@example.org
      type: repair
      imap: {host: 127.0.0.1, username: it, password_env: IT_PASSWORD, after: move}
    care:
      address: care@example.org
      type: repair
      imap: {host: 127.0.0.1, username: care, password_env: CARE_PASSWORD, move_to: Done}
  default_mailbox: it
intake:
  near_duplicates: {flag_at: 0}
""")
    assert report == """tessera.yaml:10:79 mail.mailboxes.it.imap.after: after: move needs a folder
    expected: move_to: the folder processed mail goes to
    hint: add 'move_to: Processed', or use 'after: flag'
tessera.yaml:14:85 mail.mailboxes.care.imap.move_to: move_to is only used with after: move
    found: after: flag
    hint: set 'after: move' or remove move_to
tessera.yaml:17:30 intake.near_duplicates.flag_at: flag_at 0 would flag every ticket as a near duplicate
    expected: a score above 0, e.g. 0.6
3 errors in the definitions"""


def test_an_acknowledgement_template_that_does_not_parse_is_reported(tmp_path: Path) -> None:
    report = report_for(tmp_path, """mail:
  mailboxes:
    it: {address: it@example.org, type: repair}
  default_mailbox: it
  acknowledge: {subject: "[{{ ticket.number }] received", body: "Hello {{ requester.name }}"}
""")
    assert report == """tessera.yaml:9:26 mail.acknowledge.subject: not a valid Jinja2 template
    found: '[{{ ticket.number }] received'
    hint: line 1: unexpected '}'
1 error in the definitions"""


def test_a_type_taking_mail_names_a_declared_mailbox_and_can_be_filled_by_mail(tmp_path: Path) -> None:
    repair = (Path(__file__).resolve().parents[1] / "fixtures" / "minimal" / "ticket_types" / "repair.yaml"
              ).read_text(encoding="utf-8")
    report = report_for(tmp_path, MAILBOX, repair + "intake:\n  email: {mailbox: its}\n")
    assert report == """ticket_types/repair.yaml:13:20 intake.email.mailbox: no such mailbox in tessera.yaml
    expected: one of it
    found: 'its'
    hint: did you mean 'it'?
1 error in the definitions"""
