"""aiortc echo server: answers POST /offer and echoes every data channel message.

Speaks the same signaling as eddy's echo-server:
  POST /offer {"type":"offer","sdp":...} -> {"type":"answer","sdp":...}
(non-trickle: the answer carries the candidates). CORS is open so a page on
another port can post to it. Each message comes back on the channel it
arrived on, text as text and binary as binary.

--fault makes it misbehave on purpose (text comes back as binary), so the
harness can show that its checks fail.

aiortc never gathers 127.0.0.1; run it in a network namespace where lo also
has 127.0.0.2 (aiortc skips exactly 127.0.0.1 and ::1 when gathering), which becomes its candidate.
"""

import argparse
import asyncio
import json
import sys

from aiohttp import web
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type",
}

pcs = set()
echoed = 0
fault = False


def log(*args):
    print(*args, flush=True)


async def preflight(request):
    return web.Response(status=204, headers=CORS)


async def index(request):
    return web.Response(text="aiortc echo server\n", headers=CORS)


async def offer(request):
    params = json.loads(await request.text())
    if params.get("type") != "offer" or "sdp" not in params:
        return web.Response(status=400, text="expected {type: offer, sdp}", headers=CORS)
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pcs.add(pc)
    n = len(pcs)

    @pc.on("connectionstatechange")
    async def on_state():
        log(f"pc{n}: connection {pc.connectionState}")
        if pc.connectionState in ("failed", "closed"):
            pcs.discard(pc)
            await pc.close()

    @pc.on("datachannel")
    def on_datachannel(channel):
        log(f"pc{n}: channel {channel.label!r} id={channel.id} opened by peer")

        @channel.on("message")
        def on_message(message):
            global echoed
            if fault and isinstance(message, str):
                message = message.encode()
            channel.send(message)  # str goes out as text, bytes as binary
            echoed += 1
            if echoed % 100 == 0:
                log(f"echoed {echoed} messages")

    await pc.setRemoteDescription(RTCSessionDescription(sdp=params["sdp"], type="offer"))
    await pc.setLocalDescription(await pc.createAnswer())  # gathers before returning
    log(f"pc{n}: answered")
    body = {"type": pc.localDescription.type, "sdp": pc.localDescription.sdp}
    return web.json_response(body, headers=CORS)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", default="0.0.0.0:8080", help="HOST:PORT for HTTP")
    ap.add_argument("--fault", action="store_true", help="echo text back as binary")
    args = ap.parse_args()
    global fault
    fault = args.fault
    host, port = args.listen.rsplit(":", 1)
    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_post("/offer", offer)
    app.router.add_route("OPTIONS", "/offer", preflight)

    async def on_shutdown(app):
        await asyncio.gather(*(pc.close() for pc in pcs))

    app.on_shutdown.append(on_shutdown)
    log(f"listening on http://{host}:{port}")
    web.run_app(app, host=host, port=int(port), print=None)


if __name__ == "__main__":
    sys.exit(main())
