"""Alerts benchmark: build and send every digest of the large workspace through a local SMTP
server, and, in the same run, the same items sent one message per item.

Prints the time, SMTP connections and messages of each, their ratios, and PASS/FAIL for the
targets (one connection per run; one message per recipient). The workspace is the one of
``bench/generate.py`` (reused when already generated); the state folder and the outbox are
temporary, so the workspace is left as it was. Always exits 0 when the measurements ran.

    .venv/bin/python bench/alerts_bench.py                        # 30 services x 5,000 letters
    .venv/bin/python bench/alerts_bench.py --services 3 --letters 1000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import socket
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from generate import REFERENCE_DAY, generate

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"
RESULT_MARK = "BENCH-RESULT "
LEAD = "referent.qualite@doubs.gouv.fr"


class CountingHandler:
    """Counts what the server receives; keeps nothing (tens of thousands of messages)."""

    def __init__(self) -> None:
        self.messages = 0
        self.recipients = 0
        self.bytes = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.messages += 1
        self.recipients += len(envelope.rcpt_tos)
        self.bytes += len(envelope.original_content or b"")
        return "250 OK"


class CountingController(Controller):
    """The SMTP server, counting the connections made to it."""

    def __init__(self, handler: CountingHandler, port: int) -> None:
        super().__init__(handler, hostname="127.0.0.1", port=port)
        self.connections = 0

    def factory(self) -> SMTP:
        self.connections += 1
        return super().factory()


@dataclass
class Figures:
    """One way of sending: wall time and what the server saw."""

    label: str
    seconds: float
    connections: int
    messages: int
    recipients: int
    megabytes: float

    def to_dict(self) -> dict[str, Any]:
        return vars(self)


class Meter:
    """Differences of the server's counters around a block of work."""

    def __init__(self, controller: CountingController, handler: CountingHandler) -> None:
        self.controller, self.handler = controller, handler

    def measure(self, label: str, work: Any) -> Figures:
        c, m, r, b = (self.controller.connections, self.handler.messages,
                      self.handler.recipients, self.handler.bytes)  # fmt: skip
        start = time.perf_counter()
        work()
        seconds = time.perf_counter() - start
        return Figures(label, seconds, self.controller.connections - c, self.handler.messages - m,
                       self.handler.recipients - r, (self.handler.bytes - b) / 1e6)  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_config(config_path: Path, port: int, scratch: Path) -> Any:
    """The workspace's config, sending to the local server, state and outbox in ``scratch``."""
    from qep_sync.config import Smtp, load_config

    config = load_config(config_path)
    alerts = replace(config.alerts, quality_lead=LEAD, max_messages=10**6,
                     send_on_non_working_days=True, outbox=scratch / "outbox")  # fmt: skip
    return replace(config, alerts=alerts, state_dir=scratch / "state",
                   smtp=Smtp("127.0.0.1", port, "none"))  # fmt: skip


def one_message_per_item(config: Any, check: Any, today: dt.date, now: dt.datetime) -> None:
    """The baseline: each item its own message (its recipients in To, the lead in Cc), rendered
    with the same templates and sent over one connection."""
    from qep_sync.alerts.digest import Digest, DigestContext, render_digest
    from qep_sync.alerts.items import build_items
    from qep_sync.alerts.recipients import build_directory, route
    from qep_sync.alerts.transport import SmtpTransport, compose, mailbox
    from qep_sync.core.services import ServiceIndex

    services = ServiceIndex(config.sources)
    directory = build_directory(check, config.alerts, services)
    deliveries, _ = route(build_items(check, config, today, services), directory, config.alerts)
    by_item = defaultdict(list)
    for d in deliveries:
        by_item[d.item.id].append(d)
    ctx = DigestContext(today, services, config.alerts, directory.lead)
    transport = SmtpTransport(config.smtp, config.alerts.sender)
    transport.open()
    try:
        for item_deliveries in by_item.values():
            to = [d for d in item_deliveries if d.role != "copy"]
            rendered = render_digest(Digest(to[0].to, to[:1]), ctx)
            message = compose(sender=mailbox(config.alerts.sender), to=mailbox(to[0].to.email),
                              subject=rendered.subject, text=rendered.text, html=rendered.html,
                              now=now)  # fmt: skip
            copies = [d.to.email for d in item_deliveries if d is not to[0]]
            if copies:
                message["Cc"] = ", ".join(copies)
            transport.send(message, [d.to.email for d in item_deliveries])
    finally:
        transport.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=30, help="workbooks in the workspace")
    parser.add_argument("--letters", type=int, default=5000, help="letters per workbook")
    parser.add_argument("--out", type=Path, default=OUT, help="where the workspace is generated")
    args = parser.parse_args(argv)

    from qep_sync.alerts.job import run_alerts
    from qep_sync.jobs.check import run_check

    config_path = generate(args.out, args.services, args.letters)
    today = REFERENCE_DAY
    now = dt.datetime.combine(today, dt.time(8), tzinfo=ZoneInfo("Europe/Paris"))
    handler = CountingHandler()
    controller = CountingController(handler, free_port())
    controller.start()
    probe = controller.connections  # the controller's own start-up connection
    meter = Meter(controller, handler)
    with tempfile.TemporaryDirectory(prefix="qep-alerts-bench-") as scratch:
        config = bench_config(config_path, controller.port, Path(scratch))
        start = time.perf_counter()
        check = run_check(config, today)
        check.compute(today, config)
        read_seconds = time.perf_counter() - start
        runs: dict[str, Any] = {}

        def digests() -> None:
            runs["first"] = run_alerts(config, today, dry_run=False, now=now, check=check)

        def again() -> None:
            runs["again"] = run_alerts(config, today, dry_run=False, now=now, check=check)

        first = meter.measure("digests (qep-sync alerts)", digests)
        second = meter.measure("digests, second run (nothing new)", again)
        baseline = meter.measure("one message per item", lambda: one_message_per_item(
            config, check, today, now))  # fmt: skip
    controller.stop()
    run = runs["first"]
    recipients = len({o.digest.to.key for o in run.outcomes})
    items = len(run.items)

    print(f"Alerts benchmark — {args.services} services × {args.letters:,} letters, "
          f"today {today}, {items:,} items, {recipients:,} recipients")  # fmt: skip
    print(f"  read + check + computed columns (not in the figures below): {read_seconds:.2f} s")
    print(f"  SMTP server start-up probe connections left out: {probe}\n")
    header = (
        f"  {'':38}{'seconds':>9}{'connections':>13}{'messages':>10}{'recipients':>12}{'MB':>8}"
    )
    print(header)
    for f in (first, second, baseline):
        print(f"  {f.label:38}{f.seconds:9.2f}{f.connections:13,}{f.messages:10,}"
              f"{f.recipients:12,}{f.megabytes:8.1f}")  # fmt: skip
    ratio_messages = baseline.messages / first.messages if first.messages else float("inf")
    ratio_time = first.seconds / baseline.seconds if baseline.seconds else float("inf")
    print(f"\n  one message per item sends {ratio_messages:.1f}× the messages of the digests; "
          f"digests take {ratio_time:.2f}× its time")  # fmt: skip
    targets = [
        ("one SMTP connection per run", first.connections == 1, first.connections),
        ("one message per recipient", first.messages == recipients, first.messages),
        ("second run the same day sends nothing", second.messages == 0, second.messages),
    ]
    print("\nTargets")
    for label, ok, value in targets:
        print(f"  {'PASS' if ok else 'FAIL'}  {label}: {value:,}")
    result = {
        "services": args.services, "letters": args.letters, "items": items,
        "recipients": recipients, "read_s": read_seconds,
        "digests": first.to_dict(), "again": second.to_dict(), "per_item": baseline.to_dict(),
        "messages_ratio": ratio_messages, "time_ratio": ratio_time,
        "targets": [{"target": t, "pass": ok, "value": v} for t, ok, v in targets],
    }  # fmt: skip
    print(RESULT_MARK + json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
