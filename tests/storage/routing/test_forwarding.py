import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from storage.forwarding import backoff, enqueue, enqueue_new_reports, forward_pending, retry_failed
from storage.models import OutboxItem


class Receiver:
    """A loopback endpoint that plays a script of answers and dedupes on Idempotency-Key."""

    def __init__(self, script):
        self.script = list(script)
        self.requests = []
        self.accepted = {}
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                key = self.headers["Idempotency-Key"]
                receiver.requests.append({"key": key, "auth": self.headers.get("Authorization"),
                                          "body": json.loads(body)})
                step = receiver.script.pop(0) if receiver.script else "accept"
                if step == "fail":
                    self.send_response(500)
                    self.end_headers()
                    return
                if step == "reject":
                    self.send_response(422)
                    self.end_headers()
                    return
                receiver.accepted.setdefault(key, json.loads(body))
                if step == "slow":
                    receiver.release.wait(10)
                try:
                    self.send_response(201)
                    self.end_headers()
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/laporan"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def item_for(session, report):
    return session.execute(select(OutboxItem).where(OutboxItem.report_id == report.id)).scalar_one()


def test_a_failure_then_a_timeout_then_success_delivers_exactly_one_report(session, file_report):
    report = file_report(address="999888777")
    now = dt.datetime(2026, 11, 27, 3, 0)
    with Receiver(["fail", "slow", "accept"]) as receiver:
        first = forward_pending(session, receiver.url, "s3cret", now=now, timeout=5)
        item = item_for(session, report)
        assert (first.retried, item.state, item.attempts, item.last_error) == (1, "pending", 1, "HTTP 500")
        assert item.next_attempt_at == now + dt.timedelta(minutes=1)

        assert forward_pending(session, receiver.url, "s3cret", now=now).attempted == 0  # not due yet

        later = now + dt.timedelta(minutes=2)
        second = forward_pending(session, receiver.url, "s3cret", now=later, timeout=0.3)
        receiver.release.set()
        item = item_for(session, report)
        assert (second.retried, item.state, item.attempts) == (1, "pending", 2)
        assert "timed out" in item.last_error

        third = forward_pending(session, receiver.url, "s3cret", now=later + dt.timedelta(minutes=10))
        item = item_for(session, report)
        assert (third.sent, item.state, item.attempts, item.last_error) == (1, "sent", 3, None)

        forward_pending(session, receiver.url, "s3cret", now=later + dt.timedelta(days=1))

    keys = [request["key"] for request in receiver.requests if request["body"]["nomor_pelacakan"] == report.tracking_number]
    assert keys == [item.idempotency_key] * 3
    assert list(receiver.accepted) == [item.idempotency_key]
    assert all(request["auth"] == "Bearer s3cret" for request in receiver.requests)
    sent = receiver.accepted[item.idempotency_key]
    assert sent["idempotency_key"] == item.idempotency_key
    assert "999888777" not in json.dumps(sent) and "kontak" not in sent


def test_a_rejected_request_fails_for_good_and_can_be_requeued(session, file_report):
    report = file_report()
    now = dt.datetime(2026, 11, 27, 3, 0)
    with Receiver(["reject", "accept"]) as receiver:
        result = forward_pending(session, receiver.url, None, now=now)
        item = item_for(session, report)
        assert (result.failed, item.state, item.last_error) == (1, "failed", "HTTP 422")
        assert forward_pending(session, receiver.url, None, now=now + dt.timedelta(days=1)).attempted == 0
        assert retry_failed(session, now=now) == 1
        forward_pending(session, receiver.url, None, now=now)
    assert item_for(session, report).state == "sent"
    assert receiver.requests[0]["auth"] is None


def test_an_unreachable_endpoint_keeps_the_item_pending(session, file_report):
    report = file_report()
    with Receiver([]) as receiver:
        url = receiver.url
    forward_pending(session, url, None, now=dt.datetime(2026, 11, 27, 3, 0), timeout=1)
    item = item_for(session, report)
    assert (item.state, item.attempts) == ("pending", 1)
    assert item.last_error


def test_rahasia_reports_are_forwarded_flagged(session, file_report):
    report = file_report(privacy="rahasia")
    with Receiver([]) as receiver:
        forward_pending(session, receiver.url, None, now=dt.datetime(2026, 11, 27, 3, 0))
    body = receiver.accepted[item_for(session, report).idempotency_key]
    assert body["rahasia"] is True


def test_every_report_gets_one_outbox_item(session, file_report):
    first, second = file_report(), file_report()
    enqueue_new_reports(session)
    assert enqueue_new_reports(session) == 0
    assert enqueue(session, first).id == item_for(session, first).id
    assert item_for(session, first).idempotency_key != item_for(session, second).idempotency_key


def test_backoff_grows_then_stays_hourly():
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4, 10)] == [60, 300, 1800, 3600, 3600]


def test_forwarding_without_an_endpoint_is_refused(session):
    with pytest.raises(ValueError):
        forward_pending(session, "", None)
