"""A test app for autoscaling: every request sleeps (`?ms=`, default 200) and the app
records the most requests it ever had in flight at once, in `$PEAK_DIR/<pid>` (one
file per instance), so a test can check the router's per-instance limit from the
app's side. Standard library only."""

import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

lock = threading.Lock()
in_flight = 0
peak = 0
peak_file = os.path.join(os.environ["PEAK_DIR"], str(os.getpid())) if os.environ.get("PEAK_DIR") else None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        global in_flight, peak
        with lock:
            in_flight += 1
            if in_flight > peak:
                peak = in_flight
                if peak_file:
                    with open(peak_file, "w") as f:
                        f.write(str(peak))
        try:
            url = urlparse(self.path)
            ms = 0 if url.path == "/healthz" else int(parse_qs(url.query).get("ms", ["200"])[0])
            time.sleep(min(ms, 60_000) / 1000)
        finally:
            # Counted out before the response goes: once its last byte is sent the
            # router may hand the freed slot to the next request, which can arrive
            # before this thread gets the lock again, and would be counted twice.
            with lock:
                in_flight -= 1
        body = f"slept {ms} ms in {os.getpid()}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


if __name__ == "__main__":
    host = os.environ.get("HOST", "0.0.0.0")
    Server((host, int(os.environ.get("PORT", "8080"))), Handler).serve_forever()
