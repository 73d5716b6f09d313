"""aiortc client: offers to a POST /offer echo server and checks every echo.

Takes the same flags as eddy's echo-client, so it also stands in for it in
the harness self-test:
  offer_client.py --url http://HOST:PORT/offer [--channels K] [--messages N] [--size BYTES]
Opens K channels, sends N messages of SIZE bytes on each (even ones as text,
odd ones as binary), and checks that each comes back on its own channel, in
order, with the same type and content. Prints one summary line; exits 0 on
success, 1 with a reason otherwise.
"""

import argparse
import asyncio
import json
import sys
import time
import urllib.request

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

ALPHABET = b"abcdefghijklmnopqrstuvwxyz0123456789"
BYTES = bytes(range(256))


def payload(channel, index, size):
    """Deterministic message: even index -> str, odd -> bytes."""
    if index % 2 == 0:
        head = f"c{channel}m{index}:".encode()
        body = (head + ALPHABET * (size // len(ALPHABET) + 1))[:size]
        return body.decode()
    start = (channel * 31 + index) % 256
    return (BYTES * (size // 256 + 2))[start : start + size]


def describe(m):
    kind = "text" if isinstance(m, str) else "binary"
    return f"{kind}({len(m)})"


def post_offer(url, offer):
    body = json.dumps({"type": offer.type, "sdp": offer.sdp}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


async def run(args):
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    results = {}  # channel index -> number of echoes checked

    def fail(reason):
        if not done.done():
            done.set_result(reason)

    @pc.on("connectionstatechange")
    def on_state():
        if pc.connectionState == "failed":
            fail("peer connection failed")

    def setup(k):
        ch = pc.createDataChannel(f"echo-{k}")
        results[k] = 0

        @ch.on("open")
        def on_open():
            for i in range(args.messages):
                ch.send(payload(k, i, args.size))

        @ch.on("message")
        def on_message(m):
            i = results[k]
            if i >= args.messages:
                return fail(f"channel {k}: unexpected extra message {describe(m)}")
            want = payload(k, i, args.size)
            if type(m) is not type(want) or m != want:
                return fail(f"channel {k}: echo {i} is {describe(m)}, expected {describe(want)} with the same content")
            results[k] = i + 1
            if all(n == args.messages for n in results.values()):
                if not done.done():
                    done.set_result(None)

    for k in range(args.channels):
        setup(k)

    await pc.setLocalDescription(await pc.createOffer())  # gathers before returning
    try:
        answer = await loop.run_in_executor(None, post_offer, args.url, pc.localDescription)
    except Exception as e:
        await pc.close()
        return f"POST {args.url} failed: {e}"
    if answer.get("type") != "answer" or "sdp" not in answer:
        await pc.close()
        return f"bad answer from {args.url}: {str(answer)[:200]}"
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
    try:
        reason = await asyncio.wait_for(done, args.timeout)
    except asyncio.TimeoutError:
        got = ", ".join(f"ch{k}={n}" for k, n in results.items())
        reason = f"timed out after {args.timeout}s (ice={pc.iceConnectionState}; echoes {got} of {args.messages})"
    await pc.close()
    return reason


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--channels", type=int, default=1)
    ap.add_argument("--messages", type=int, default=10)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--timeout", type=float, default=45)
    args = ap.parse_args()
    t0 = time.monotonic()
    reason = asyncio.run(run(args))
    took = time.monotonic() - t0
    total = args.channels * args.messages
    if reason:
        print(f"FAIL: {reason}", flush=True)
        return 1
    print(f"ok: {total} messages of {args.size} bytes echoed on {args.channels} channels in {took:.1f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
