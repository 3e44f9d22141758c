"""An echo server on Python websockets (Debian python3-websockets 10.4), for edgews's interop tests.

Usage: /usr/bin/python3 -u echo_server.py [--compression deflate|none] [--max-size BYTES]
Listens on 127.0.0.1, port chosen by the OS, and prints JSON lines on stdout:
  {"event": "listening", "port": N}
  {"event": "open", "path": ..., "subprotocol": ..., "extensions": <response header>, "offered": <request header>}
  {"event": "closed", "path": ..., "code": ..., "reason": ...}   (the close code and reason it received)
The path picks what the server does before echoing every message back with its type:
  /echo                   just echo
  /close/CODE/REASON      close at once with CODE (url-encoded REASON); CODE "none": a close frame without a body
  /ping/DATA              ping with DATA, wait for the pong, send the text "pong DATA"
  /send/SIZE              send a binary message of SIZE zero bytes
  /fragments              send the text "frag-1 ✓ 𝄞 frag-2 😀 end" in 3 fragments, then 70002 bytes in 3 fragments
Subprotocols: it accepts chat.v1 or chat.v2 when offered. Stop it with SIGTERM.
"""
import argparse
import asyncio
import json
import urllib.parse

import websockets
from websockets.frames import Close


def emit(**event):
    print(json.dumps(event), flush=True)


async def handler(ws, _path=None):
    path = ws.path
    route = [urllib.parse.unquote(part) for part in path.split("?")[0].strip("/").split("/")]
    emit(
        event="open",
        path=path,
        subprotocol=ws.subprotocol,
        extensions=ws.response_headers.get("Sec-WebSocket-Extensions"),
        offered=ws.request_headers.get("Sec-WebSocket-Extensions"),
    )
    try:
        if route[0] == "close":
            if route[1] == "none":
                await ws.write_close_frame(Close(1005, ""), b"")
            else:
                await ws.close(int(route[1]), route[2] if len(route) > 2 else "")
        elif route[0] == "ping":
            waiter = await ws.ping(route[1].encode())
            await asyncio.wait_for(waiter, 10)
            await ws.send("pong " + route[1])
        elif route[0] == "send":
            await ws.send(bytes(int(route[1])))
        elif route[0] == "fragments":
            await ws.send(["frag-1 ✓ ", "𝄞 frag-2 ", "😀 end"])
            await ws.send([b"\x00\x01", b"", bytes(70000)])
        async for message in ws:
            await ws.send(message)
    except websockets.ConnectionClosed:
        pass
    finally:
        await ws.wait_closed()
        emit(event="closed", path=path, code=ws.close_code, reason=ws.close_reason)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--compression", choices=["deflate", "none"], default="deflate")
    parser.add_argument("--max-size", type=int, default=64 << 20)
    args = parser.parse_args()
    async with websockets.serve(
        handler,
        "127.0.0.1",
        0,
        compression="deflate" if args.compression == "deflate" else None,
        max_size=args.max_size,
        subprotocols=["chat.v1", "chat.v2"],
        ping_interval=None,
    ) as server:
        emit(event="listening", port=server.sockets[0].getsockname()[1])
        await asyncio.Future()


asyncio.run(main())
