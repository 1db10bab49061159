"""A stand-in of the Slack Web API (chat.postMessage, auth.test, conversations.list) and of incoming webhooks,
on 127.0.0.1.

It checks the bearer token and the channel like Slack does (HTTP 200 with ``ok: false``), enforces the
Block Kit limits Slack enforces (``invalid_blocks``, ``msg_too_long``), records every accepted message, and
can be told to fail the next requests: ``fail_next(429, count=2, retry_after=1)``,
``fail_next(500, count=1000)``, ``fail_next("invalid_auth")``; ``fail_next(500, count=0)`` stops failing.
Use it as a context manager::

    with SlackStandIn(token="xoxb-test", channels=["#gba"]) as slack:
        WebClient(token="xoxb-test", base_url=slack.api_url).chat_postMessage(channel="#gba", text="hi")
        assert slack.messages[0]["text"] == "hi"
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

MAX_BLOCKS = 50
MAX_TEXT_OBJECT_CHARS = 3000
MAX_HEADER_CHARS = 150
MAX_FIELDS = 10
MAX_FIELD_CHARS = 2000
MAX_CONTEXT_ELEMENTS = 10
MAX_CONTEXT_TEXT_CHARS = 2000  # one context element (slack-sdk's models do not check it; Slack does)
MAX_MESSAGE_CHARS = 40_000

Answer = tuple[int, dict[str, str], bytes, str | None]  # status, headers, body, Slack's error (None when ok)


@dataclass(frozen=True)
class Message:
    """A message the stand-in accepted."""

    channel: str
    text: str
    blocks: list[dict[str, Any]]
    ts: str
    thread_ts: str | None
    payload: dict[str, Any]  # everything the client sent, as parsed (unfurl_links, link_names, ...)
    via: str  # "api" or "webhook"

    def __getitem__(self, name: str) -> Any:
        """``message["text"]``, ``message["blocks"]``, or any parameter the client sent ("unfurl_links")."""
        return getattr(self, name) if name in self.__dataclass_fields__ else self.payload[name]


@dataclass(frozen=True)
class Hit:
    """One request, accepted or not, with when it arrived (time.monotonic) and what was answered."""

    path: str
    at: float
    status: int
    error: str | None


@dataclass
class _Failure:
    status: int  # for a webhook; the Web API answers an error code with HTTP 200
    error: str
    retry_after: int | None = None
    code: bool = False  # an ``ok: false`` error code rather than an HTTP failure


@dataclass
class _Webhook:
    channel: str
    messages: list[Message] = field(default_factory=list)


def block_problems(blocks: Any) -> list[str]:
    """Why Slack would answer ``invalid_blocks`` for ``blocks``; empty when they are valid. Each block is
    also parsed by slack-sdk's own Block Kit models and validated by them (``validate_json``)."""
    if not isinstance(blocks, list):
        return ["blocks is not a list"]
    problems = [f"{len(blocks)} blocks > {MAX_BLOCKS}"] if len(blocks) > MAX_BLOCKS else []
    for index, block in enumerate(blocks):
        problems += [f"blocks[{index}]: {p}" for p in _block_problems(block) + sdk_problems(block)]
    return problems


def sdk_problems(block: Any) -> list[str]:
    """What slack-sdk's block models say of ``block``: ``Block.parse`` then ``validate_json()``."""
    try:
        parsed = Block.parse(block)
        if parsed is None:
            return ["slack-sdk parses no block from it"]
        parsed.validate_json()
        if parsed.to_dict() != block:
            return ["slack-sdk reads it otherwise than it was written"]
    except (SlackObjectFormationError, KeyError, TypeError, AttributeError) as exc:
        return [f"slack-sdk: {exc}"]
    return []


def _block_problems(block: Any) -> list[str]:
    if not isinstance(block, dict):
        return ["not an object"]
    kind = block.get("type")
    if kind == "header":
        return _text_problems(block.get("text"), limit=MAX_HEADER_CHARS, kinds=("plain_text",))
    if kind == "section":
        problems = []
        if "text" not in block and "fields" not in block:
            problems.append("section without text or fields")
        if "text" in block:
            problems += _text_problems(block["text"], limit=MAX_TEXT_OBJECT_CHARS)
        fields = block.get("fields", [])
        if len(fields) > MAX_FIELDS:
            problems.append(f"{len(fields)} fields > {MAX_FIELDS}")
        for item in fields:
            problems += _text_problems(item, limit=MAX_FIELD_CHARS)
        return problems
    if kind == "context":
        elements = block.get("elements") or []
        problems = [] if 1 <= len(elements) <= MAX_CONTEXT_ELEMENTS else [f"{len(elements)} context elements"]
        for element in elements:
            problems += _text_problems(element, limit=MAX_CONTEXT_TEXT_CHARS)
        return problems
    if kind == "divider":
        return []
    return [f"unknown block type {kind!r}"]


def _text_problems(obj: Any, *, limit: int, kinds: Iterable[str] = ("plain_text", "mrkdwn")) -> list[str]:
    if not isinstance(obj, dict) or obj.get("type") not in kinds:
        return [f"text object must be one of {tuple(kinds)}"]
    text = obj.get("text")
    if not isinstance(text, str) or not 1 <= len(text) <= limit:
        return [f"text of {len(text) if isinstance(text, str) else 'no'} chars (1..{limit})"]
    if obj["type"] == "plain_text" and "verbatim" in obj:
        return ["plain_text cannot be verbatim"]
    if obj["type"] == "mrkdwn" and "emoji" in obj:
        return ["mrkdwn cannot have emoji"]
    return []


_SPECIAL = re.compile(r"<([^<>]*)>")


def parsed_markup(text: str) -> list[str]:
    """What Slack would parse in ``text``: every ``<...>`` span (mentions, channel links, links) and bare
    broadcasts (``@channel``/``@here``/``@everyone``) — the things a feed must never be able to inject."""
    spans = [m.group(1) for m in _SPECIAL.finditer(text)]
    broadcasts = re.findall(r"(?<![\w\u200d])@(?:channel|here|everyone)\b", text, flags=re.IGNORECASE)
    return spans + broadcasts


def texts_of(message: Message | Mapping[str, Any]) -> list[str]:
    """The fallback text and every text object in the blocks of a message (or of an alert-like mapping)."""
    if isinstance(message, Message):
        text, blocks = message.text, message.blocks
    else:
        text, blocks = message.get("text", ""), message.get("blocks", [])
    found = [text]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("plain_text", "mrkdwn") and isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list | tuple):
            for value in node:
                walk(value)

    walk(list(blocks))
    return found


class SlackStandIn:
    """Loopback Slack: ``api_url`` for WebClient(base_url=...), ``webhook_url(channel)`` for WebhookClient."""

    def __init__(
        self,
        *,
        token: str = "xoxb-test",
        channels: Iterable[str] = ("#gba",),
        not_in: Iterable[str] = (),
        archived: Iterable[str] = (),
    ) -> None:
        self.token = token
        self.channels = {_name(c) for c in channels}
        self.not_in = {_name(c) for c in not_in}
        self.archived = {_name(c) for c in archived}
        self.messages: list[Message] = []
        self.posted = threading.Event()  # set by the first accepted message: tests wait on it, not in a loop
        self.hits: list[Hit] = []
        self._failures: deque[_Failure] = deque()
        self._webhooks: dict[str, _Webhook] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.01,), name="slack-stand-in", daemon=True
        )  # a short poll interval makes close() quick
        self._thread.start()

    # --- the test's side ------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        """The Web API base URL; slack-sdk joins method names to it, so it ends with "/"."""
        return f"{self.url}/api/"

    def webhook_url(self, channel: str = "#gba") -> str:
        """A new incoming-webhook URL that posts to ``channel``."""
        with self._lock:
            path = f"/webhook/T0000/B{len(self._webhooks):04d}/secret{len(self._webhooks)}"
            self._webhooks[path] = _Webhook(_name(channel))
        return self.url + path

    def fail_next(self, failure: int | str = 500, *, count: int = 1, retry_after: int | None = None) -> None:
        """Fail the next ``count`` requests, replacing any failures still scripted (``count=0``: stop).

        ``failure`` is an HTTP status (429 comes with ``Retry-After: retry_after``, default 1) or one of
        Slack's error codes, answered as Slack does: HTTP 200 with ``ok: false`` (a webhook: 404/400 and the
        code).
        """
        if isinstance(failure, str):
            status, error = (404 if failure in ("no_service", "channel_not_found") else 400, failure)
        else:
            defaults = {429: "ratelimited", 500: "internal_error", 503: "service_unavailable"}
            status, error = failure, defaults.get(failure, "fatal_error")
        if status == 429 and retry_after is None:
            retry_after = 1
        with self._lock:
            self._failures = deque(
                _Failure(status, error, retry_after, code=isinstance(failure, str)) for _ in range(count)
            )

    def messages_in(self, channel: str) -> list[Message]:
        return [m for m in self.messages if m.channel == _name(channel)]

    def hits_to(self, prefix: str) -> list[Hit]:
        return [h for h in self.hits if h.path.startswith(prefix)]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> SlackStandIn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- Slack's side ---------------------------------------------------------------------------------------

    def _answer_api(self, headers: Mapping[str, str], body: bytes) -> Answer:
        payload = _payload(headers.get("content-type", ""), body)
        if payload is None:
            return _json(200, {"ok": False, "error": "invalid_form_data"})
        token = headers.get("authorization", "").removeprefix("Bearer ").strip() or payload.get("token")
        if not token:
            return _json(200, {"ok": False, "error": "not_authed"})
        if token != self.token:
            return _json(200, {"ok": False, "error": "invalid_auth"})
        channel = _name(str(payload.get("channel") or ""))
        if channel not in self.channels:
            return _json(200, {"ok": False, "error": "channel_not_found"})
        if channel in self.archived:
            return _json(200, {"ok": False, "error": "is_archived"})
        if channel in self.not_in:
            return _json(200, {"ok": False, "error": "not_in_channel"})
        problem = _message_problem(payload)
        if problem:
            details = {"messages": problem[1]}
            return _json(200, {"ok": False, "error": problem[0], "response_metadata": details})
        message = self._record(channel, payload, via="api")
        return _json(200, {"ok": True, "channel": channel, "ts": message.ts})

    def _answer_read(self, path: str, headers: Mapping[str, str], body: bytes) -> Answer:
        """auth.test and conversations.list: who the token is, and the channels (``not_in``: not a member)."""
        payload = _payload(headers.get("content-type", ""), body) or {}
        payload |= dict(parse_qsl(urlsplit(path).query))
        token = headers.get("authorization", "").removeprefix("Bearer ").strip() or payload.get("token")
        if token != self.token:
            return _json(200, {"ok": False, "error": "invalid_auth" if token else "not_authed"})
        if path.startswith("/api/auth.test"):
            return _json(200, {"ok": True, "user": "gba-monitor", "user_id": "U0001", "team": "Stand-in"})
        channels = [
            {"id": f"C{i:04d}", "name": name, "is_member": name not in self.not_in}
            for i, name in enumerate(sorted(self.channels - self.archived), start=1)
        ]
        return _json(200, {"ok": True, "channels": channels, "response_metadata": {"next_cursor": ""}})

    def _answer_webhook(self, path: str, body: bytes) -> Answer:
        hook = self._webhooks.get(path)
        if hook is None:
            return 404, {"content-type": "text/html"}, b"no_service", "no_service"
        try:
            payload = json.loads(body)
        except ValueError:
            return 400, {"content-type": "text/html"}, b"invalid_payload", "invalid_payload"
        problem = _message_problem(payload)
        if problem:
            return 400, {"content-type": "text/html"}, problem[0].encode(), problem[0]
        message = self._record(hook.channel, payload, via="webhook")
        hook.messages.append(message)
        return 200, {"content-type": "text/html"}, b"ok", None

    def _record(self, channel: str, payload: dict[str, Any], *, via: str) -> Message:
        with self._lock:
            n = len(self.messages) + 1
            blocks = payload.get("blocks") or []
            message = Message(
                channel=channel,
                text=str(payload.get("text") or ""),
                blocks=json.loads(blocks) if isinstance(blocks, str) else blocks,
                ts=f"{1_700_000_000 + n}.{n:06d}",
                thread_ts=payload.get("thread_ts"),
                payload=payload,
                via=via,
            )
            self.messages.append(message)
        self.posted.set()
        return message

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep pytest output clean
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                path = self.path.split("?", 1)[0]
                with stand_in._lock:
                    failure = stand_in._failures.popleft() if stand_in._failures else None
                if failure is not None:
                    status, extra, raw, error = _failure_answer(failure, webhook=path.startswith("/webhook/"))
                elif path == "/api/chat.postMessage":
                    status, extra, raw, error = stand_in._answer_api(headers, body)
                elif path in ("/api/auth.test", "/api/conversations.list"):
                    status, extra, raw, error = stand_in._answer_read(self.path, headers, body)
                elif path.startswith("/webhook/"):
                    status, extra, raw, error = stand_in._answer_webhook(path, body)
                else:
                    status, extra, raw, error = _json(404, {"ok": False, "error": "unknown_method"})
                with stand_in._lock:
                    stand_in.hits.append(Hit(path, time.monotonic(), status, error))
                self.send_response(status)
                for name, value in {**extra, "content-length": str(len(raw))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST

        return Handler


def _name(channel: str) -> str:
    return channel.removeprefix("#")


def _json(status: int, data: dict[str, Any]) -> Answer:
    error = None if data.get("ok") else str(data.get("error"))
    return status, {"content-type": "application/json; charset=utf-8"}, json.dumps(data).encode(), error


def _failure_answer(failure: _Failure, *, webhook: bool) -> Answer:
    if webhook:
        headers = {"content-type": "text/html"}
        if failure.retry_after is not None:
            headers["retry-after"] = str(failure.retry_after)
        return failure.status, headers, failure.error.encode(), failure.error
    status = 200 if failure.code else failure.status
    status, headers, raw, error = _json(status, {"ok": False, "error": failure.error})
    if failure.retry_after is not None:
        headers["Retry-After"] = str(failure.retry_after)
    return status, headers, raw, error


def _payload(content_type: str, body: bytes) -> dict[str, Any] | None:
    """The request's parameters: JSON, or a form whose ``blocks`` is a JSON string (as slack-sdk sends)."""
    try:
        if content_type.startswith("application/json"):
            data = json.loads(body or b"{}")
            return data if isinstance(data, dict) else None
        form: dict[str, Any] = dict(parse_qsl(body.decode(), keep_blank_values=True))
        if isinstance(form.get("blocks"), str):
            form["blocks"] = json.loads(form["blocks"])
        return form
    except ValueError:
        return None


def _message_problem(payload: dict[str, Any]) -> tuple[str, list[str]] | None:
    """Slack's error for a message it would refuse: (error, details)."""
    text, blocks = payload.get("text"), payload.get("blocks")
    if not text and not blocks:
        return "no_text", ["text or blocks is required"]
    if isinstance(text, str) and len(text) > MAX_MESSAGE_CHARS:
        return "msg_too_long", [f"text of {len(text)} chars > {MAX_MESSAGE_CHARS}"]
    if blocks is not None:
        problems = block_problems(blocks)
        if problems:
            return "invalid_blocks", problems
    return None
