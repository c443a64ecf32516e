"""Parsing mail: encoded and raw headers, charsets right and wrong, HTML, files, delivery reports."""

from __future__ import annotations

from runtime.intake.mail.charsets import decode
from runtime.intake.mail.html_text import html_to_text, sanitize
from runtime.intake.mail.identity import mail_external_id
from runtime.intake.mail.message import parse_mail
from tests.intake.mail_fixtures import mail


def test_rfc2047_subject_and_display_name_are_decoded() -> None:
    raw = (b"From: =?utf-8?q?J=C3=B6rg_M=C3=BCller?= <Joerg@Example.COM>\r\nTo: it@example.org\r\n"
           b"Subject: =?iso-8859-1?q?Drucker_st=F6rt?= =?utf-8?b?4oCTIGRyaW5nZW5k?=\r\n\r\nText\r\n")
    parsed = parse_mail(raw)
    assert parsed.subject == "Drucker stört– dringend"
    assert (parsed.sender and (parsed.sender.name, parsed.sender.written, parsed.sender.email)) == (
        "Jörg Müller", "Joerg@Example.COM", "joerg@example.com")


def test_raw_utf8_headers_are_read_as_utf8_rfc6532() -> None:
    raw = "From: Jöhn Doe <jdöe@mächine.example>\r\nSubject: Säying Hello\r\n\r\nbody\r\n".encode()
    parsed = parse_mail(raw)
    assert (parsed.subject, parsed.sender and parsed.sender.email) == ("Säying Hello", "jdöe@mächine.example")


def test_raw_latin1_header_bytes_fall_back_to_windows_1252() -> None:
    raw = "From: a@b.org\r\nSubject: Formação – Verão\r\n\r\nx\r\n".encode("cp1252")
    assert parse_mail(raw).subject == "Formação – Verão"


def test_unknown_and_wrong_charsets_still_give_text() -> None:
    assert decode("Grüße".encode(), "x-unknown") == "Grüße"
    assert decode("Grüße".encode("cp1252"), "us-ascii") == "Grüße"
    assert decode("스티해".encode("cp949"), "ks_c_5601-1987") == "스티해"
    assert decode(b"abc\x00def", "utf-8") == "abcdef"  # PostgreSQL text cannot hold NUL


def test_rfc2231_filename_and_rfc2047_filename_are_decoded() -> None:
    raw = (b"From: a@b.org\r\nSubject: files\r\nMIME-Version: 1.0\r\n"
           b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee files\r\n'
           b"--b\r\nContent-Type: application/pdf\r\n"
           b"Content-Disposition: attachment; filename*=utf-8''R%C3%A9sum%C3%A9.pdf\r\n\r\n%PDF-1.4\r\n"
           b"--b\r\nContent-Type: application/pdf; name=\"=?utf-8?q?B=C3=BCro.pdf?=\"\r\n"
           b"Content-Disposition: attachment\r\n\r\n%PDF-1.4\r\n--b--\r\n")
    parsed = parse_mail(raw)
    assert [a.filename for a in parsed.attachments] == ["Résumé.pdf", "Büro.pdf"]
    assert parsed.text.strip() == "see files"


def test_html_only_mail_becomes_text_and_its_html_is_sanitized_for_display() -> None:
    html = ('<html><head><style>p{color:red}</style><script>alert(1)</script></head><body>'
            '<p>Hello <b>team</b>,</p><ul><li>first</li><li>second</li></ul>'
            '<p><a href="https://status.example.org/x" onclick="evil()">status page</a></p></body></html>')
    raw = (b"From: a@b.org\r\nSubject: html\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html.encode())
    parsed = parse_mail(raw)
    assert parsed.text == "Hello team,\n\n- first\n- second\n\nstatus page <https://status.example.org/x>"
    assert parsed.html is not None
    cleaned = sanitize(parsed.html)
    assert "<script" not in cleaned
    assert "onclick" not in cleaned
    assert "alert" not in cleaned
    assert '<a href="https://status.example.org/x"' in cleaned


def test_alternative_prefers_the_plain_text_and_keeps_the_html() -> None:
    parsed = parse_mail(mail(body="Plain words", html="<p>Rich <i>words</i></p>"))
    assert (parsed.text.strip(), parsed.html is not None, parsed.attachments) == ("Plain words", True, ())


def test_attachments_inline_images_and_attached_messages_are_all_kept() -> None:
    inner = mail(subject="The original", body="forwarded text")
    raw = mail(files=[("report.pdf", "application/pdf", b"%PDF-1.4 x"), ("original.eml", "message/rfc822", inner)])
    parsed = parse_mail(raw)
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [
        ("report.pdf", "application/pdf"), ("original.eml", "message/rfc822")]
    assert b"forwarded text" in parsed.attachments[1].data
    related = (b"From: a@b.org\r\nSubject: pic\r\nMIME-Version: 1.0\r\n"
               b'Content-Type: multipart/related; boundary="r"\r\n\r\n'
               b'--r\r\nContent-Type: text/html\r\n\r\n<p>see <img src="cid:logo@x"></p>\r\n'
               b"--r\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\nContent-Transfer-Encoding: base64\r\n\r\n"
               b"iVBORw0KGgo=\r\n--r--\r\n")
    image = parse_mail(related).attachments[0]
    assert (image.filename, image.content_type, image.inline, image.data) == (
        "part-1.png", "image/png", True, b"\x89PNG\r\n\x1a\n")


def test_multipart_without_its_boundary_is_read_as_text() -> None:
    raw = (b'From: a@b.org\r\nSubject: x\r\nContent-Type: multipart/alternative; boundary="missing"\r\n\r\n'
           b"Just some text.\r\n")
    assert parse_mail(raw).text.strip() == "Just some text."


def test_threading_headers_are_read_in_order_without_repeats() -> None:
    parsed = parse_mail(b"From: a@b.org\r\nIn-Reply-To: <c@x>\r\nReferences: <a@x>\r\n <b@x> <c@x>\r\n\r\nx")
    assert (parsed.in_reply_to, parsed.references, parsed.thread_ids) == (
        ("<c@x>",), ("<a@x>", "<b@x>", "<c@x>"), ("<c@x>", "<b@x>", "<a@x>"))


def test_external_id_is_the_message_id_else_a_hash_of_the_bytes() -> None:
    assert mail_external_id(b"Subject: x\r\nMessage-ID:\r\n  <folded@example.org>\r\n\r\nMessage-ID: <body@x>") == \
        "<folded@example.org>"
    assert mail_external_id(b"Subject: none\r\n\r\nMessage-ID: <in-body@x>").startswith("sha256:")


def test_html_to_text_keeps_preformatted_lines_and_nested_quotes() -> None:
    html = "<pre>a  b\n  c</pre><blockquote>one<blockquote>two</blockquote></blockquote>"
    assert html_to_text(html) == "a  b\n  c\n\n> one\n> > two"


def test_delivery_report_lists_only_permanent_failures() -> None:
    raw = (b"From: MAILER-DAEMON@mx.example\r\nSubject: failure\r\nMIME-Version: 1.0\r\n"
           b'Content-Type: multipart/report; report-type=delivery-status; boundary="d"\r\n\r\n'
           b"--d\r\nContent-Type: text/plain\r\n\r\nsorry\r\n--d\r\nContent-Type: message/delivery-status\r\n\r\n"
           b"Reporting-MTA: dns; mx.example\r\n\r\nFinal-Recipient: RFC822; <Gone@Example.org>\r\nAction: failed\r\n"
           b"Status: 5.1.1\r\n\r\nFinal-Recipient: rfc822; slow@example.org\r\nAction: delayed\r\nStatus: 4.4.1\r\n"
           b"--d--\r\n")
    parsed = parse_mail(raw)
    assert (parsed.delivery_report, parsed.bounced) == (True, ("gone@example.org",))
