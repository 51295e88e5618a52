"""One request in the fast lane (:class:`Flight`), from its write to the backend to the end
of its answer, and the bookkeeping it does once it is over — everything the full path's
layers would have recorded for the same outcome (see :mod:`roost.mesh.lane.route`)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from time import monotonic
from typing import TYPE_CHECKING, Any

from roost.mesh.hops import HOP_BY_HOP, SUCCESS_CLASS, success_class
from roost.mesh.lane.heads import ResponseHead
from roost.mesh.lane.parts import VIA, Name, Target, request_url
from roost.mesh.lane.upstream import Upstream, UpstreamPool
from roost.mesh.responses import error_response
from roost.rpc.accrual import FailureAccrualFactory
from roost.rpc.classifier import ResponseClass
from roost.rpc.errors import RpcError
from roost.rpc.http.codec import http_date, response_head
from roost.rpc.http.message import Headers, Request, Response
from roost.rpc.http.nack import nack_error

if TYPE_CHECKING:
    from roost.mesh.lane.conn import LaneConnection
    from roost.mesh.lane.route import Lane
    from roost.rpc.loadbalancer.node import Lease


class Flight:
    """One request in the lane, from the write to the backend to the end of the answer."""

    __slots__ = (
        "_req",
        "client",
        "conn",
        "data",
        "factory",
        "lane",
        "lease",
        "method",
        "name",
        "out",
        "over",
        "raw",
        "rep",
        "started",
        "status",
        "target",
        "up",
        "verdict",
    )

    def __init__(
        self,
        lane: Lane,
        conn: LaneConnection,
        method: str,
        raw: Sequence[tuple[bytes, bytes]],
        data: bytes,
        name: Name,
        target: Target,
        lease: Lease,
        factory: Any,
        started: float,
    ) -> None:
        self.lane = lane
        self.conn = conn
        self.method = method
        self.raw = raw
        self.data = data
        self.name = name
        self.target = target
        self.client = target.client
        self.lease = lease
        self.factory = factory
        self.started = started
        self.out = b""
        self.up: Upstream | None = None
        self.rep = False
        """The answer's head went to the client."""
        self.status = 0
        self.verdict: ResponseClass = ResponseClass.SUCCESS
        self.over = False
        self._req: Request | None = None

    @property
    def req(self) -> Request:
        """The request as a ``Request``, for what needs one (classifiers, the full path)."""
        if self._req is None:
            url = request_url(self.data).decode("latin-1")
            self._req = Request(self.method, url, Headers.parsed(self.raw), b"", "1.1")
        return self._req

    # -- to the backend -------------------------------------------------------------------

    def send(self, up: Upstream) -> None:
        self.up = up
        up.send(self.out, self)

    async def connect(self, pool: UpstreamPool) -> None:
        try:
            up = await pool.connect()
        except (OSError, TimeoutError):
            self._never_sent()
            return
        finally:
            if self.conn._task is asyncio.current_task():  # (not a full-path task since)
                self.conn._task = None
        if self.over:  # the client left while we connected
            pool.release(up)
            return
        self.send(up)

    # -- from the backend (Upstream's Exchange) -----------------------------------------

    def _classify(self, up: Upstream, status: int) -> ResponseClass:
        """The name's verdict on an answer :meth:`head` could not call a success at sight
        (Linkerd's classifiers call anything under 500 without ``l5d-*`` headers one)."""
        classifier = self.name.classifier
        rep = Response(status, Headers.parsed(up.info.headers), b"")
        try:
            return classifier(self.req, rep)
        except Exception:
            return ResponseClass.SUCCESS

    def head(self, up: Upstream, status: int, data: bytes) -> None:
        if status == 503:
            rep = Response(status, Headers.parsed(up.info.headers), b"")
            if nack_error(rep, up.pool.address) is not None:
                # a NACK: nothing was processed; the full path sends it elsewhere (a requeue)
                up.abort()
                self._settle(None, give_back=REQUEUE, nacked=True)
                return
        if status < 500 and not up.info.flagged and self.name.linkerd:
            verdict = ResponseClass.SUCCESS  # (Linkerd's classifiers: no call, no Response)
        else:
            verdict = self._classify(up, status)
        retry = self.name.retry
        if verdict is ResponseClass.RETRYABLE_FAILURE and retry is not None and self._withdraw():
            retry.stats.retries += 1
            up.abort()  # the answer is dropped: the full path sends the request again
            self.status = status
            self._settle(None, give_back=RETRY)
            return
        self.verdict = verdict
        self.status = status
        self.rep = True
        transport = self.conn.transport
        if transport is None or self.conn.closed:
            return
        conn = self.conn
        closing = conn.draining or conn.server.draining
        mark = "1.0" if verdict is ResponseClass.SUCCESS else success_class(verdict)
        transport.write(self._head(up, status, data, mark, closing) + data[up.head_len :])
        if conn.writing_paused:
            up.pause()

    def _head(
        self, up: Upstream, status: int, data: bytes, mark: str | None, closing: bool = False
    ) -> bytes:
        """The answer's head for the client, through its blank line (``closing``: the
        server drains, the client is told this is the last answer on its connection)."""
        info = up.info
        if not info.kept or not info.dated or closing:
            return _relayed(info, status, data[: up.head_len], mark, closing)
        relays = info.relays  # (the same bytes each time: made once a head)
        if relays is None:
            relays = info.relays = {}
        made = relays.get(mark)
        if made is None:
            made = relays[mark] = _relayed(info, status, data[: up.head_len], mark, False)
        return made

    def body(self, data: bytes) -> None:
        transport = self.conn.transport
        if transport is not None and not self.conn.closed:
            transport.write(data)
            if self.conn.writing_paused and self.up is not None:
                self.up.pause()

    def done(self, up: Upstream) -> None:
        if not self.rep:
            return
        self._settle(None)
        self.conn.answered(not up.info.until_close)

    def failed(self, up: Upstream, error: RpcError) -> None:
        if self.over:
            return
        if self.rep:  # the answer was under way: the client's is cut off too
            self._settle(error)
            self.conn.abort()
            return
        retry = self.name.retry
        try:
            verdict = self.name.classifier(self.req, error)
        except Exception:
            verdict = ResponseClass.NON_RETRYABLE_FAILURE
        if verdict.retryable and retry is not None and self._withdraw():
            retry.stats.retries += 1  # (a GET whose connection died, retryableRead5XX…)
            self._settle(error, give_back=RETRY)
            return
        answer = error_response(error)
        answer.headers.add(SUCCESS_CLASS, "0.0")
        self._settle(error, answer=answer)
        self._write_whole(answer)

    def _withdraw(self) -> bool:
        """A retry from the name's budget, once the deposits of requests before are in."""
        retry = self.name.retry
        assert retry is not None
        self.lane.tally.flush()
        return retry.budget.try_withdraw()

    def _never_sent(self) -> None:
        """The backend could not be reached: the full path takes the request (a requeue)."""
        self._settle(ConnectionRefusedError(), give_back=REQUEUE)

    def client_gone(self) -> None:
        if self.over:
            return
        if self.up is not None:
            self.up.abort()
        if self.rep:  # the answer was under way: counted by its head, as the full path does
            self._settle(None)
        else:
            self._settle(asyncio.CancelledError())

    # -- bookkeeping ----------------------------------------------------------------------

    def _settle(
        self,
        error: BaseException | None,
        *,
        give_back: int = 0,
        nacked: bool = False,
        answer: Response | None = None,
    ) -> None:
        """Record the outcome everywhere the full path would, once (``error``: none when an
        answer came; ``answer``: the error answer the client gets). ``give_back``: the full
        path answers — after a ``REQUEUE`` (never processed) the lane's attempt counts for
        the endpoint only; after a ``RETRY`` it also counts for the client, as the full
        path's first attempt would."""
        if self.over:
            return
        self.over = True
        lane, name, client, target = self.lane, self.name, self.client, self.target
        lane._flights.pop(self.conn, None)
        target.http_client.release(self.lease)
        status = self.status
        if (
            error is None
            and not give_back
            and status < 500
            and client.fives
            and self.verdict is ResponseClass.SUCCESS
        ):  # a plain success: recorded in bulk at the end of the loop's turn
            lane.tally.success(target, self.factory, (monotonic() - self.started) * 1000.0)
            return
        lane.tally.flush()  # what came before first
        client_ok = (
            error is None
            and not nacked
            and (
                status < 500
                if client.fives
                else client.client.classifier(self.req, Response(status, Headers(), b"")).is_success
            )
        )
        factory = self.factory
        if isinstance(factory, FailureAccrualFactory):
            if isinstance(error, asyncio.CancelledError):
                factory.observe("ignorable")
            else:
                factory.observe("success" if client_ok else "failure")
        server, named, pair, cstats = lane.stats, name.stats, target.pair, client.stats
        assert server is not None and named is not None and cstats is not None
        requeue, nack, retry = client.requeue, client.nack, name.retry
        ms = (monotonic() - self.started) * 1000.0
        if give_back:
            server.drop()
            named.drop()
            if give_back == REQUEUE and requeue is not None:  # as the requeue filter counts
                requeue.stats.requeues += 1
                requeue.budget.try_withdraw()
            if give_back == RETRY:  # the client and the pair saw a failed attempt
                if error is None:
                    cstats.leave(client_ok, ms)
                    pair.leave(False, ms)
                else:
                    cstats.end(self.req, error, self.started)
                    pair.end(self.req, error, self.started)
                if requeue is not None:
                    requeue.stats.requeued(0)
            else:
                cstats.drop()
                pair.drop()
            if nack is not None:
                nack.observe(not nacked)
            data = self.data
            tried = 1 if give_back == RETRY else 0  # (this attempt was the first try)
            self.conn._serve_fully(self.method, self.raw, data, data.find(b"\r\n\r\n"), tried)
            return
        if error is None:
            ok = self.verdict.is_success
            cstats.leave(client_ok, ms)
            pair.leave(ok, ms)
            named.leave(ok, ms)
            server.leave(ok, ms)
        elif isinstance(error, asyncio.CancelledError):
            for f in (server, named, pair, cstats):
                f.drop()  # the caller gave up: ignorable, as the full path counts it
        else:
            req = self.req
            for f in (cstats, pair, named):
                f.end(req, error, self.started)
            # the server saw the router's error answer, not the exception
            server.end(req, answer if answer is not None else _cut_off(error), self.started)
        if requeue is not None:
            if client_ok:
                requeue.budget.deposit()
            requeue.stats.requeued(0)
        if nack is not None and not isinstance(error, asyncio.CancelledError):
            nack.observe(True)
        if retry is not None:  # (deposited here, not before: a request given back to
            retry.budget.deposit()  # the full path deposits there, once)
            retry.stats.retried(0)

    def _write_whole(self, rep: Response) -> None:
        transport = self.conn.transport
        if transport is None or self.conn.closed:
            return
        body = rep.body if isinstance(rep.body, bytes) else b""
        extra = [("Content-Length", str(len(body))), ("Date", http_date()), ("Via", "1.1 linkerd")]
        transport.write(response_head(rep.status, rep.reason, rep.headers, extra) + body)
        self.conn.answered(True)


REQUEUE, RETRY = 1, 2
"""Why a request goes back to the full path: never processed; or to be sent again."""


def _cut_off(error: BaseException) -> Response:
    """What the server's stats see for an answer cut off mid-way: a failure."""
    rep = error_response(error)
    rep.headers.add(SUCCESS_CLASS, "0.0")
    return rep


_KEEP_ALIVE_ONLY = 2
"""``ResponseHead.hop`` when its only hop-by-hop header is ``Connection: keep-alive``."""
_MARKS = {m: f"{SUCCESS_CLASS}: {m}\r\n".encode() for m in ("1.0", "0.0")}

_DROP = frozenset({*(h.encode() for h in HOP_BY_HOP), b"l5d-success-class"})
_FRAMING = frozenset({b"content-length", b"transfer-encoding"})


def _relayed(
    info: ResponseHead, status: int, head: bytes, mark: str | None, closing: bool
) -> bytes:
    """A backend's answer ``head`` (through its blank line) as the client gets it."""
    extra = VIA
    if mark is not None:
        extra += _MARKS[mark]
    if not info.dated:
        extra += b"Date: " + http_date().encode() + b"\r\n"
    end = len(head) - 2
    if info.version == "1.1" and not info.until_close and not info.flagged and not closing:
        if not info.hop:
            return head[:end] + extra + b"\r\n"
        if info.hop == _KEEP_ALIVE_ONLY:  # nginx's habit: cut the one line out
            at = head.find(b"\r\nConnection: keep-alive\r\n")
            if at >= 0:
                return b"".join((head[: at + 2], head[at + 2 + 24 : end], extra, b"\r\n"))
    # rebuilt: no hop-by-hop headers, HTTP/1.1, our l5d-success-class in place of one
    # from behind, and the end of a body of unknown length is the end of the connection
    lines = [b"HTTP/1.1 %d %s" % (status, _reason(head))]
    drop = _DROP | {  # and what the backend's Connection names (RFC 9110 7.6.1)
        t.strip().lower()
        for n, v in info.headers
        if n.lower() == b"connection"
        for t in v.split(b",")
    }
    if status == 204:  # no content, so nothing to frame (RFC 9110 8.6, 6.1)
        drop |= _FRAMING
    lines += [n + b": " + v for n, v in info.headers if n.lower() not in drop]
    if info.until_close or closing:
        lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n" + extra + b"\r\n"


def _reason(head: bytes) -> bytes:
    line = head[: head.find(b"\r\n")]
    parts = line.split(b" ", 2)
    return parts[2] if len(parts) == 3 else b""
