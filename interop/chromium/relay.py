"""Serves the test pages and relays POST /offer to the Chromium answerer page.

  GET  /<file>          files of this directory (offerer.html, answerer.html)
  POST /offer           an offering client (echo-client): waits for the page's answer
  GET  /pending-offer   the page polls: 200 with the offer once, else 204
  POST /answer          the page's answer, returned to the waiting POST /offer
  POST /log             a page's progress line, printed to this log
"""

import argparse
import asyncio
import json
import pathlib
import sys

from aiohttp import web

HERE = pathlib.Path(__file__).parent
CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Headers": "Content-Type"}


def log(*args):
    print(*args, flush=True)


class Relay:
    def __init__(self, timeout):
        self.timeout = timeout
        self.offer = None  # waiting to be fetched by the page
        self.answer = None  # future the POST /offer handler awaits
        self.lock = asyncio.Lock()  # one offer at a time

    async def post_offer(self, request):
        params = json.loads(await request.text())
        if params.get("type") != "offer" or "sdp" not in params:
            return web.Response(status=400, text="expected {type: offer, sdp}", headers=CORS)
        async with self.lock:
            self.offer = params
            self.answer = asyncio.get_running_loop().create_future()
            log("offer received; waiting for the page's answer")
            try:
                answer = await asyncio.wait_for(self.answer, self.timeout)
            except asyncio.TimeoutError:
                self.offer = None
                log(f"no answer from the page within {self.timeout}s")
                return web.Response(status=504, text="the answering page did not answer", headers=CORS)
            log("answer relayed")
            return web.json_response(answer, headers=CORS)

    async def pending_offer(self, request):
        offer, self.offer = self.offer, None
        if offer is None:
            return web.Response(status=204)
        return web.json_response(offer)

    async def post_answer(self, request):
        answer = json.loads(await request.text())
        if self.answer is None or self.answer.done():
            return web.Response(status=409, text="no offer is waiting")
        self.answer.set_result(answer)
        return web.json_response({"ok": True})

    async def page_log(self, request):
        log("page:", await request.text())
        return web.Response(status=204)


async def preflight(request):
    return web.Response(status=204, headers={**CORS, "Access-Control-Allow-Methods": "POST, OPTIONS"})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", default="127.0.0.1:8000", help="HOST:PORT")
    ap.add_argument("--timeout", type=float, default=30, help="seconds to wait for the page's answer")
    args = ap.parse_args()
    host, port = args.listen.rsplit(":", 1)
    relay = Relay(args.timeout)
    app = web.Application()
    app.router.add_post("/offer", relay.post_offer)
    app.router.add_route("OPTIONS", "/offer", preflight)
    app.router.add_get("/pending-offer", relay.pending_offer)
    app.router.add_post("/answer", relay.post_answer)
    app.router.add_post("/log", relay.page_log)
    app.router.add_static("/", HERE)
    log(f"listening on http://{host}:{port}")
    web.run_app(app, host=host, port=int(port), print=None)


if __name__ == "__main__":
    sys.exit(main())
