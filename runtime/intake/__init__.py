"""Intake: every inbound message, whatever its channel, through one pipeline that never loses it.

Channels, each committing the raw message before anything reads it:

- mail: ``imap_poll`` (with ``imap_session``, ``imap_cursors``) fetches mailboxes; ``smtp_listener`` (served by
  ``smtp_server``) answers 250 only once a message is stored; ``importer`` reads .eml files, mbox and Maildir;
- ``webhooks``: signed deliveries (``mapping`` turns a payload into fields);
- ``forms``: submissions with a one-time token (``form_tokens``), a honeypot and a rate limit (``rate_limit``);
- the typed create API with an ``Idempotency-Key`` (``api_flow``).

Then the stages, the same for all:

1. ``store``      — the ``intake_messages`` row (bytes, metadata, state ``received``), unique per channel, source
                    and external id, so a re-delivery finds the first one;
2. ``pipeline``   — ``process`` dispatches a stored row to its channel's flow (``mail_flow``, ``webhook_flow``,
                    ``form_flow``, ``api_flow``), each of which parses and reads its input into a ``draft``
                    (a new ticket) or a reply; a failure anywhere quarantines the row with the reason;
3. mail only      — ``mail/`` parses (charsets, RFC 2047/2231/6532, HTML, files, quoted history), ``loop_guard``
                    ignores auto-replies, bulk mail, our own mail and bounces, ``threads`` finds the ticket a
                    reply continues, ``duplicates`` the same mail arriving by another mailbox;
4. ``requesters`` — the sender's contact, found or created, with the organization of the domain;
5. ``create``     — ``enrich`` (the desk's ``rules``, then ``language``), ``similar`` (near duplicates, scored
                    by ``likeness``: flagged or merged), the ticket or comment with the note of it in the row in
                    one transaction, routing to the team, ``acknowledge``, then the files.

``processing`` and ``claims`` let any process (worker, listener, CLI, API retry) process stored messages without
two running one message; ``background`` does it off the SMTP listener's answer; ``messages`` reads rows for the
API; ``commands`` holds ``cli.py import`` and ``cli.py intake list|retry|poll|smtp``.
"""
