"""Opens a page in headless Chromium and waits for its window.__result.

  webdriver.py URL [--timeout S] [--port P]

Starts chromedriver (its PID is ours to stop), drives it with the plain W3C
WebDriver HTTP API (urllib, no Selenium), navigates to URL and polls
window.__result = {ok, detail}. Prints the page's window.__log and the
result; exits 0 if ok, 1 if not or on timeout. SIGTERM ends it cleanly (the
session is deleted and chromedriver stopped), exit status 0 if the page
reported no failure by then; the answerer case relies on that.
The flags are the ones known to make headless Chromium gather loopback candidates (--allow-loopback-in-peer-connection with --use-fake-ui-for-media-stream); run it inside the namespace.
"""

import argparse
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

CHROMIUM = "/usr/lib/chromium/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
]


class Stop(Exception):
    pass


def call(base, method, path, body=None, timeout=30):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data, {"Content-Type": "application/json"}, method=method)
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read() or b"null").get("value")


def run(args, base, profile):
    deadline = time.monotonic() + 10
    while True:  # wait for chromedriver to listen
        try:
            if call(base, "GET", "/status", timeout=2).get("ready"):
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            return False, "chromedriver did not become ready within 10s"
        time.sleep(0.1)
    opts = {"binary": CHROMIUM, "args": FLAGS + [f"--user-data-dir={profile}"]}
    caps = {"capabilities": {"alwaysMatch": {"goog:chromeOptions": opts}}}
    sid = call(base, "POST", "/session", caps, timeout=60)["sessionId"]
    session = f"/session/{sid}"
    try:
        call(base, "POST", session + "/url", {"url": args.url})
        script = {"script": "return [window.__result || null, window.__log || []]", "args": []}
        deadline = time.monotonic() + args.timeout
        result, lines = None, []
        try:
            while result is None and time.monotonic() < deadline:
                time.sleep(0.25)
                result, lines = call(base, "POST", session + "/execute/sync", script)
        except Stop:
            result, lines = call(base, "POST", session + "/execute/sync", script)
            result = result or {"ok": True, "detail": "stopped; the page reported no failure"}
        for line in lines:
            print("page:", line)
        if result is None:
            return False, f"no window.__result after {args.timeout}s"
        return bool(result.get("ok")), str(result.get("detail"))
    finally:
        try:
            call(base, "DELETE", session)  # closes Chromium
        except OSError as e:
            print(f"webdriver: DELETE session failed: {e}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--port", type=int, default=9515)
    args = ap.parse_args()

    def on_term(*_):
        raise Stop()

    signal.signal(signal.SIGTERM, on_term)
    profile = tempfile.mkdtemp(prefix="eddy-chromium-")
    driver = subprocess.Popen(
        ["chromedriver", f"--port={args.port}", "--allowed-ips=127.0.0.1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        ok, detail = run(args, f"http://127.0.0.1:{args.port}", profile)
    except Stop:
        ok, detail = False, "stopped before the page loaded"
    except Exception as e:  # WebDriver errors come back as HTTPError with a JSON body
        body = e.read().decode(errors="replace")[:300] if hasattr(e, "read") else ""
        ok, detail = False, f"webdriver: {e} {body}"
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        driver.terminate()
        try:
            driver.wait(5)
        except subprocess.TimeoutExpired:
            driver.kill()
        shutil.rmtree(profile, ignore_errors=True)
    print(("ok: " if ok else "FAIL: ") + detail, flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
