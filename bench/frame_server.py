"""A websocket server that answers one subscription as a venue does, then sends a burst
of book-ticker frames: the far end of the feed benchmark, in its own process so that its
cost is not charged to the client.

The burst is framed once with wsproto and written with large ``send_all`` calls, so the
server outpaces any client and the benchmark measures the client.

Run: ``python -m bench.frame_server mexc|gateio FRAMES``; prints the port, then serves.
"""

from __future__ import annotations

import sys
import time

import trio
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Request,
    TextMessage,
)

from protocols import gateio_client_requests, gateio_encode, mexc_client_requests, mexc_encode
from protocols.model import Quote, Symbol

SYMBOLS = [Symbol("BTC", "USDT"), Symbol("ETH", "USDT"), Symbol("SOL", "USDT")]
PRICES = {"BTC": 65_000.0, "ETH": 3_200.0, "SOL": 150.0}
CONTRACT_SIZES = {"BTC": 0.0001, "ETH": 0.01, "SOL": 1.0}


def frames(venue: str, count: int) -> list[bytes | str]:
    built: list[bytes | str] = []
    for n in range(count):
        symbol = SYMBOLS[n % len(SYMBOLS)]
        mid = PRICES[symbol.base] * (1 + (n % 100) * 1e-5)
        quote = Quote(symbol, round(mid - 0.5, 2), 2.0, round(mid + 0.5, 2), 3.0, 0.0, 0.0)
        now = time.time()
        if venue == "mexc":
            built.append(mexc_encode.book_ticker_push(quote, n, now))
        else:
            size = CONTRACT_SIZES[symbol.base]
            built.append(gateio_encode.book_ticker_push(quote, size, n, now))
    return built


def ack(venue: str, message: str) -> str:
    if venue == "mexc":
        request = mexc_client_requests.decode_client_message(message)
        return mexc_encode.subscription_ack(request.channels)
    request = gateio_client_requests.decode_client_message(message)
    return gateio_encode.subscription_ack(request, time.time())


def framed(burst: list[bytes | str]) -> bytes:
    """The burst as server-to-client websocket frames (unmasked, so reusable)."""
    ws = WSConnection(ConnectionType.SERVER)
    ws.receive_data(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    next(ws.events())
    ws.send(AcceptConnection())
    out = bytearray()
    for frame in burst:
        message = BytesMessage(frame) if isinstance(frame, bytes) else TextMessage(frame)
        out += ws.send(message)
    return bytes(out)


async def main(venue: str, count: int) -> None:
    blob = framed(frames(venue, count))

    async def serve(stream: trio.SocketStream) -> None:
        ws = WSConnection(ConnectionType.SERVER)
        try:
            while True:
                ws.receive_data(await stream.receive_some(65536))
                for event in ws.events():
                    if isinstance(event, Request):
                        await stream.send_all(ws.send(AcceptConnection()))
                    elif isinstance(event, TextMessage):
                        await stream.send_all(ws.send(TextMessage(ack(venue, event.data))))
                        for start in range(0, len(blob), 1 << 20):
                            await stream.send_all(blob[start : start + (1 << 20)])
                    elif isinstance(event, CloseConnection):
                        return
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass  # the client went away mid-burst: this connection is done

    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    print(listeners[0].socket.getsockname()[1], flush=True)
    await trio.serve_listeners(serve, listeners)


if __name__ == "__main__":
    trio.run(main, sys.argv[1], int(sys.argv[2]))
