"""How fast intake turns raw email into committed tickets and comments, through the whole pipeline, on SQLite.

Run with ``.venv/bin/python bench/intake.py`` (``--quick`` for a short run, ``--database-url`` for another
database). The shipped desk is migrated and seeded into a temporary SQLite file; then a mixed stream of mail is
taken from raw bytes to a committed result, in batches as ``cli.py import`` and the worker take it (the raw
messages of a batch committed in one transaction, then each processed):

- new requests from a few hundred senders, most of them unknown to the desk (a contact is created), a quarter
  with an HTML part, one in ten with a small PDF attached;
- replies to those tickets (by In-Reply-To), with quoted history and a signature to strip;
- auto-replies and bulk mail that the loop guard ignores;
- the same mail delivered again (a duplicate).

Printed as one markdown table: messages per second for each step and for the mix, the target (≥ 300 emails/s
on the 2-core machine), and the ratio of the whole pipeline to a baseline measured in the same run: committing
the same raw messages only (stage 1 alone), which is what the pipeline's speed is bounded by on this disk.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.results import Figure, record  # noqa: E402
from runtime.artifacts import migration_paths  # noqa: E402
from runtime.compile.desk import load_compiled  # noqa: E402
from runtime.db import migrations  # noqa: E402
from runtime.db.engine import make_engine  # noqa: E402
from runtime.demo.seed import seed_demo  # noqa: E402
from runtime.intake.pipeline import MailPipeline  # noqa: E402
from runtime.intake.store import Inbound  # noqa: E402

BATCH = 200
TARGET = 300.0
WORDS = ("printer", "laptop", "screen", "invoice", "delivery", "parcel", "password", "network", "office", "chair",
         "meeting", "report", "order", "refund", "update", "error", "server", "access", "badge", "monitor")
PDF = b"%PDF-1.4\n" + b"0" * 4000 + b"\n%%EOF\n"


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def new_request(rng: random.Random, n: int) -> bytes:
    message = EmailMessage()
    message["From"] = f"Sender {n} <{sender_of(n)}>"
    message["To"] = "care@example.org" if n % 3 == 0 else "it@example.org"
    message["Subject"] = f"{sentence(rng, 5)} #{n}"
    message["Date"] = formatdate()
    message["Message-ID"] = f"<request-{n}@customers.example.net>"
    body = "\n\n".join(sentence(rng, 14) for _ in range(4)) + "\n\n-- \nSender\nCustomers Ltd."
    message.set_content(body)
    if n % 4 == 1:
        message.add_alternative(f"<html><body><p>{body}</p><p><b>Thanks</b></p></body></html>", subtype="html")
    if n % 10 == 7:
        message.add_attachment(PDF, maintype="application", subtype="pdf", filename=f"scan-{n}.pdf")
    return message.as_bytes()


def sender_of(n: int) -> str:
    if n % 4 == 0:
        return "maria.lopez@northwind.example.org"  # a seeded contact
    return f"sender{n % 300}@customers.example.net"  # unknown to the desk the first time


def reply(rng: random.Random, n: int, to_request: int) -> bytes:
    message = EmailMessage()
    message["From"] = sender_of(to_request)
    message["To"] = "it@example.org"
    message["Subject"] = f"Re: ticket #{to_request}"
    message["Date"] = formatdate()
    message["Message-ID"] = make_msgid(idstring=f"reply{n}", domain="customers.example.net")
    message["In-Reply-To"] = f"<request-{to_request}@customers.example.net>"
    quoted = "\n".join(f"> {sentence(rng, 12)}" for _ in range(6))
    message.set_content(f"{sentence(rng, 10)}\n\nOn Monday, the desk wrote:\n{quoted}\n\n-- \nSender")
    return message.as_bytes()


def auto_reply(n: int) -> bytes:
    message = EmailMessage()
    message["From"] = f"autoresponder{n}@customers.example.net"
    message["To"] = "it@example.org"
    message["Subject"] = "Out of office"
    message["Auto-Submitted"] = "auto-replied"
    message["Message-ID"] = f"<auto-{n}@customers.example.net>"
    message.set_content("I am away until Monday.")
    return message.as_bytes()


def stream(count: int, seed: int = 7) -> list[bytes]:
    """New requests first (so replies have tickets to thread to), then a shuffled mix of everything."""
    rng = random.Random(seed)
    requests = count * 6 // 10
    mails = [new_request(rng, n) for n in range(requests)]
    rest: list[bytes] = []
    for n in range(count - requests):
        kind = n % 4
        if kind in (0, 1):
            rest.append(reply(rng, n, rng.randrange(requests)))
        elif kind == 2:
            rest.append(auto_reply(n))
        else:
            rest.append(mails[rng.randrange(requests)])  # the same mail delivered again
    rng.shuffle(rest)
    return mails + rest


def batches(mails: Sequence[bytes]) -> list[Sequence[bytes]]:
    return [mails[i:i + BATCH] for i in range(0, len(mails), BATCH)]


def run_pipeline(pipeline: MailPipeline, mails: Sequence[bytes], source: str) -> dict[str, int]:
    outcomes: dict[str, int] = {}
    for batch in batches(mails):
        for stored in pipeline.receive(list(batch), source):
            kind = pipeline.process(stored.id).kind
            outcomes[kind] = outcomes.get(kind, 0) + 1
    return outcomes


def run_store_only(pipeline: MailPipeline, mails: Sequence[bytes]) -> None:
    for batch in batches(mails):
        pipeline.store.store([Inbound("email", "baseline", f"<baseline-{i}-{id(batch)}>", raw)
                              for i, raw in enumerate(batch)])


def timed(work: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="1,000 messages instead of 5,000")
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    args = parser.parse_args()
    count = 1000 if args.quick else 5000
    with tempfile.TemporaryDirectory(prefix="tessera-bench-intake-") as folder:
        compiled = load_compiled(REPO)
        engine = make_engine(args.database_url or f"sqlite:///{folder}/bench.db", compiled.root)
        migrations.upgrade(migration_paths(compiled), engine)
        seed_demo(compiled, engine)
        pipeline = MailPipeline(compiled, engine)
        mails = stream(count)
        requests = count * 6 // 10
        baseline_seconds, _ = timed(lambda: run_store_only(pipeline, mails))
        new_seconds, new_outcomes = timed(lambda: run_pipeline(pipeline, mails[:requests], "import"))
        mix_seconds, mix_outcomes = timed(lambda: run_pipeline(pipeline, mails[requests:], "import"))
        engine.dispose()
    total = new_seconds + mix_seconds
    rate = count / total
    baseline = count / baseline_seconds
    print(f"Intake on {'SQLite' if not args.database_url else args.database_url.split(':')[0]}: {count:,} emails "
          f"in batches of {BATCH}\n")
    print("| step | messages | outcomes | emails/s | target | ratio to storing only |")
    print("|---|---:|---|---:|---:|---:|")
    print(f"| baseline: store raw only | {count:,} | - | {baseline:,.0f} | - | 1.00 |")
    print(f"| new requests | {requests:,} | {describe(new_outcomes)} | {requests / new_seconds:,.0f} | - | "
          f"{requests / new_seconds / baseline:.2f} |")
    print(f"| replies, auto-replies, duplicates | {count - requests:,} | {describe(mix_outcomes)} | "
          f"{(count - requests) / mix_seconds:,.0f} | - | {(count - requests) / mix_seconds / baseline:.2f} |")
    met = "met" if rate >= TARGET else "NOT met"
    database = "sqlite" if not args.database_url else "postgresql"
    store_only = "storing the raw messages only"
    record(Figure(bench="intake", name="email: new requests", value=requests / new_seconds, unit="emails/s",
                  database=database, baseline=baseline, baseline_name=store_only))
    record(Figure(bench="intake", name="email: whole mix, raw bytes to committed result", value=rate,
                  unit="emails/s", database=database, target=TARGET, baseline=baseline, baseline_name=store_only))
    print(f"| whole mix, raw bytes to committed result | {count:,} | - | {rate:,.0f} | ≥ {TARGET:,.0f} ({met}) | "
          f"{rate / baseline:.2f} |")
    return 0


def describe(outcomes: object) -> str:
    assert isinstance(outcomes, dict)
    return ", ".join(f"{kind} {n:,}" for kind, n in sorted(outcomes.items()))


if __name__ == "__main__":
    raise SystemExit(main())
