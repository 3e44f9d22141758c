"""A scripted client on Python websockets (Debian python3-websockets 10.4), for edgews's interop tests.

Usage: echo '{"url": ..., "steps": [...], "compression": true, "subprotocols": [], "max_size": N}' | /usr/bin/python3 -u client.py
Steps, in order (see PyStep in test/support/python.ts):
  {"send_text": S}  {"send_b64": B64}  {"send_file": PATH, "binary": BOOL}  {"send_fragments_b64": [B64...], "binary": BOOL}
  {"recv": N}  {"ping": DATA}  {"close": {"code": C, "reason": R}} (no code: a close frame without a body)
  {"wait_closed": true}
Prints JSON lines: "open" (subprotocol, extensions), "message" (type, size, sha256, and text or b64 when
short), "pong" (data, latency), "closed" (code, reason), "error" (handshake refused: status). Exits 0 unless
the script itself breaks.
"""
import asyncio
import base64
import hashlib
import json
import sys

import websockets
from websockets.frames import Close


def emit(**event):
    print(json.dumps(event), flush=True)


def emit_message(message):
    data = message.encode() if isinstance(message, str) else message
    event = {"type": "text" if isinstance(message, str) else "binary", "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    if len(data) <= 256:
        if isinstance(message, str):
            event["text"] = message
        else:
            event["b64"] = base64.b64encode(message).decode()
    emit(event="message", **event)


async def run_steps(ws, steps):
    for step in steps:
        if "send_text" in step:
            await ws.send(step["send_text"])
        elif "send_b64" in step:
            await ws.send(base64.b64decode(step["send_b64"]))
        elif "send_file" in step:
            with open(step["send_file"], "rb") as f:
                data = f.read()
            await ws.send(data if step["binary"] else data.decode())
        elif "send_fragments_b64" in step:
            parts = [base64.b64decode(p) for p in step["send_fragments_b64"]]
            await ws.send(parts if step["binary"] else [p.decode() for p in parts])
        elif "recv" in step:
            for _ in range(step["recv"]):
                emit_message(await asyncio.wait_for(ws.recv(), 20))
        elif "ping" in step:
            waiter = await ws.ping(step["ping"].encode())
            latency = await asyncio.wait_for(waiter, 10)
            emit(event="pong", data=step["ping"], latency=latency)
        elif "close" in step:
            code = step["close"].get("code")
            if code is None:
                await ws.write_close_frame(Close(1005, ""), b"")
                await asyncio.wait_for(ws.wait_closed(), 20)
            else:
                await ws.close(code, step["close"].get("reason", ""))
        elif "wait_closed" in step:
            while True:
                emit_message(await asyncio.wait_for(ws.recv(), 20))
        else:
            raise ValueError("unknown step %r" % step)


async def main():
    spec = json.load(sys.stdin)
    try:
        ws = await websockets.connect(
            spec["url"],
            compression="deflate" if spec["compression"] else None,
            subprotocols=spec["subprotocols"] or None,
            max_size=spec["max_size"],
            ping_interval=None,
            open_timeout=10,
            close_timeout=10,
        )
    except websockets.InvalidStatusCode as error:
        emit(event="error", kind="status", status=error.status_code)
        return
    emit(event="open", subprotocol=ws.subprotocol, extensions=ws.response_headers.get("Sec-WebSocket-Extensions"))
    try:
        await run_steps(ws, spec["steps"])
    except websockets.ConnectionClosed:
        pass
    await ws.close()
    emit(event="closed", code=ws.close_code, reason=ws.close_reason)


asyncio.run(main())
