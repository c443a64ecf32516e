"""Intake: every inbound message, whatever its channel, through one pipeline that never loses it.

The stages, each a module of its own:

1. ``store``      — the raw bytes and their metadata are committed as an ``intake_messages`` row before anything
                    reads them; the row's state says how far the message got (``received`` → ``processed``,
                    ``duplicate``, ``ignored`` or ``quarantined`` with the reason).
2. ``mail``       — parse: headers (RFC 2047, 2231, 6532, broken charsets), the text (HTML turned into text by
                    ``html_text``), attachments, inline images and attached messages.
3. ``loop_guard`` — auto-replies, bulk mail, our own mail and delivery reports are marked ``ignored``; bounces
                    are recorded on the contact.
4. ``threads``    — a reply finds its ticket by In-Reply-To/References, or by a ticket number in the subject when
                    the sender takes part in that ticket.
5. ``requesters`` — the sender's contact is found or created, with the organization of the address's domain.
6. ``duplicates`` — the same Message-ID (or the same bytes) never makes a second ticket or comment.
7. ``pipeline``   — a ticket or a comment, as the requester, through the ticket service; then the files, the
                    team of the mailbox (``mailboxes``), and the row marked processed.

``quotes`` strips quoted history and signatures from a reply; ``importer`` feeds files, mbox and Maildir folders
to the pipeline; ``commands`` holds the CLI.
"""
