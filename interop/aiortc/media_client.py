"""aiortc client: sends a video track (aiortc's test pattern, VP8) to a
POST /offer echo server and counts the frames that come back.

  media_client.py --url http://HOST:PORT/offer [--frames N] [--timeout S]

Succeeds (exit 0) once N frames of the echoed track decoded within the
timeout; prints one summary line either way, exit 1 with a reason on failure.
"""

import argparse
import asyncio
import json
import sys
import time
import urllib.request

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, VideoStreamTrack


def post_offer(url, offer):
    body = json.dumps({"type": offer.type, "sdp": offer.sdp}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


async def run(args):
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    frames = 0

    def finish(reason):
        if not done.done():
            done.set_result(reason)

    @pc.on("connectionstatechange")
    def on_state():
        print(f"connection {pc.connectionState}", flush=True)
        if pc.connectionState == "failed":
            finish("peer connection failed")

    @pc.on("track")
    def on_track(track):
        print(f"track back: {track.kind}", flush=True)

        async def count():
            nonlocal frames
            while True:
                try:
                    frame = await track.recv()
                except MediaStreamError:
                    return finish(f"the echoed track ended after {frames} frames")
                frames += 1
                if frames == 1:
                    print(f"first frame back: {frame.width}x{frame.height}", flush=True)
                if frames >= args.frames:
                    return finish(None)

        asyncio.ensure_future(count())

    pc.addTrack(VideoStreamTrack())
    await pc.setLocalDescription(await pc.createOffer())
    answer = await loop.run_in_executor(None, post_offer, args.url, pc.localDescription)
    await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
    start = time.monotonic()
    try:
        reason = await asyncio.wait_for(done, args.timeout)
    except asyncio.TimeoutError:
        reason = f"only {frames} of {args.frames} frames came back in {args.timeout}s"
    stats = await pc.getStats()
    inbound = [s for s in stats.values() if s.type == "inbound-rtp"]
    detail = ", ".join(
        f"{s.kind} inbound packetsReceived={s.packetsReceived} packetsLost={s.packetsLost}"
        for s in inbound
    )
    await pc.close()
    took = time.monotonic() - start
    if reason:
        print(f"FAIL: {reason} ({detail})", flush=True)
        return 1
    print(f"ok: {frames} echoed video frames decoded in {took:.1f}s ({detail})", flush=True)
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--frames", type=int, default=60)
    p.add_argument("--timeout", type=float, default=30)
    args = p.parse_args()
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
