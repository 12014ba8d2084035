"""Telegram's Bot API and a Discord webhook on 127.0.0.1, answering as their documentation
says: the fields of their JSON answers, their message length limits, their 429s with
``retry_after``; told to rate-limit or to hang, as the real ones may."""

from __future__ import annotations

import attrs
import msgspec
import trio

from actors.http_server import HttpRequest, HttpResponse, HttpServer

_encode = msgspec.json.Encoder().encode


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@attrs.define(eq=False)
class FakeTelegram:
    """One bot (``token``) that may write to the chats in ``chats``."""

    token: str
    chats: set[str] = attrs.Factory(lambda: {"42"})
    messages: list[tuple[str, str]] = attrs.Factory(list)
    """(chat_id, text) of each message sent."""
    flood_next: int = 0
    """Answer this many requests with flood control's 429."""
    retry_after: int = 7
    hang_s: float = 0.0
    requested_paths: list[str] = attrs.Factory(list)
    url: str = ""

    async def handle(self, request: HttpRequest) -> HttpResponse:
        self.requested_paths.append(request.path)
        if self.hang_s:
            await trio.sleep(self.hang_s)
        if request.path != f"/bot{self.token}/sendMessage":
            return _telegram_error(401, "Unauthorized")
        if self.flood_next:
            self.flood_next -= 1
            return _telegram_error(
                429,
                f"Too Many Requests: retry after {self.retry_after}",
                {"retry_after": self.retry_after},
            )
        body = msgspec.json.decode(request.body)
        chat, text = str(body.get("chat_id", "")), body.get("text", "")
        if chat not in self.chats:
            return _telegram_error(400, "Bad Request: chat not found")
        if not text:
            return _telegram_error(400, "Bad Request: message text is empty")
        if _utf16_length(text) > 4096:
            return _telegram_error(400, "Bad Request: message is too long")
        self.messages.append((chat, text))
        message = {"message_id": len(self.messages), "chat": {"id": chat}, "text": text}
        return HttpResponse(200, _encode({"ok": True, "result": message}))

    async def serve(self, *, task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
        server = HttpServer(self.handle, name="fake-telegram")
        async with trio.open_nursery() as nursery:
            port = await nursery.start(server.serve)
            self.url = f"http://127.0.0.1:{port}"
            task_status.started(self.url)


def _telegram_error(code: int, description: str, parameters: dict | None = None) -> HttpResponse:
    answer: dict = {"ok": False, "error_code": code, "description": description}
    if parameters is not None:
        answer["parameters"] = parameters
    return HttpResponse(code, _encode(answer))


@attrs.define(eq=False)
class FakeDiscord:
    """One webhook, ``/api/webhooks/<webhook_id>/<token>``."""

    webhook_id: str
    token: str
    contents: list[str] = attrs.Factory(list)
    queries: list[dict[str, str]] = attrs.Factory(list)
    """The query of each saved message's request."""
    allowed_mentions: list[dict | None] = attrs.Factory(list)
    """Whom each saved message was allowed to ping (absent: whomever it names)."""
    limit_next: int = 0
    """Answer this many requests with a rate limit's 429."""
    retry_after: float = 1.5
    hang_s: float = 0.0
    url: str = ""
    """The webhook's URL, token included."""

    async def handle(self, request: HttpRequest) -> HttpResponse:
        if self.hang_s:
            await trio.sleep(self.hang_s)
        if request.path != f"/api/webhooks/{self.webhook_id}/{self.token}":
            return HttpResponse(401, _encode({"message": "Invalid Webhook Token", "code": 50027}))
        if self.limit_next:
            self.limit_next -= 1
            answer = {
                "message": "You are being rate limited.",
                "retry_after": self.retry_after,
                "global": False,
            }
            headers = (("retry-after", str(int(self.retry_after) + 1)),)
            return HttpResponse(429, _encode(answer), headers=headers)
        body = msgspec.json.decode(request.body)
        content = body.get("content", "")
        if not content or len(content) > 2000:
            answer = {"message": "Invalid Form Body", "code": 50035}
            return HttpResponse(400, _encode(answer))
        self.contents.append(content)
        self.queries.append(request.query)
        self.allowed_mentions.append(body.get("allowed_mentions"))
        if request.query.get("wait") != "true":
            return HttpResponse(204)
        return HttpResponse(200, _encode({"id": str(len(self.contents)), "content": content}))

    async def serve(self, *, task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
        server = HttpServer(self.handle, name="fake-discord")
        async with trio.open_nursery() as nursery:
            port = await nursery.start(server.serve)
            self.url = f"http://127.0.0.1:{port}/api/webhooks/{self.webhook_id}/{self.token}"
            task_status.started(self.url)
