"""The simulated venues write their websocket frames themselves: byte for byte what the
protocol library writes for a server's unfragmented message."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, BytesMessage, Request, TextMessage

from actors.sim.ws_server import encoded

# Around each length encoding's limits (7 bits, 16 bits, 64 bits).
SIZES = st.one_of(
    st.integers(0, 130), st.integers(65_530, 65_540), st.sampled_from([125, 126, 65_535, 65_536])
)


def open_server() -> WSConnection:
    """The library's server side of a connection, past the handshake."""
    client, server = WSConnection(ConnectionType.CLIENT), WSConnection(ConnectionType.SERVER)
    server.receive_data(client.send(Request(host="127.0.0.1", target="/ws")))
    next(server.events())
    server.send(AcceptConnection())
    return server


@given(size=SIZES, byte=st.integers(0, 255))
def test_a_binary_frame_is_the_librarys(size, byte):
    payload = bytes([byte]) * size
    assert encoded(payload) == open_server().send(BytesMessage(payload))


@given(text=st.text(max_size=200), pad=SIZES)
def test_a_text_frame_is_the_librarys_of_its_utf8(text, pad):
    message = text + "x" * pad
    assert encoded(message) == open_server().send(TextMessage(message))
