#!/usr/bin/env python3
"""A model service as people write one with only the standard library: POST /predict spends
CPU (a fixed loop, ~WORK_MS of it) and answers JSON; GET /health answers 200. Port from the
first argument or $PORT; X-Served-By from $POD_NAME. With CRASH_AFTER=N it exits with status 3
after N predictions (a crashing replica); with SICK_AFTER=N, GET /health answers 500 after N
predictions while /predict still answers (a replica only a liveness probe can catch). With
CONCURRENCY=N at most N predictions run at once (the others wait), and SLEEP_MS=M adds M ms of
waiting (not CPU) to each: CONCURRENCY=2 SLEEP_MS=10 WORK_MS=0 serves at most 200 requests/s,
a known capacity. SIGTERM ends it at once (Python's default)."""

import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ["PORT"])
NAME = os.environ.get("POD_NAME", "cpu-app")
WORK_MS = float(os.environ.get("WORK_MS", "2"))
CRASH_AFTER = int(os.environ.get("CRASH_AFTER", "0"))
SICK_AFTER = int(os.environ.get("SICK_AFTER", "0"))
SLEEP_MS = float(os.environ.get("SLEEP_MS", "0"))
CONCURRENCY = int(os.environ.get("CONCURRENCY", "0"))
SLOTS = threading.BoundedSemaphore(CONCURRENCY) if CONCURRENCY else None
served = 0


def spend(ms):
    end = time.thread_time() + ms / 1000.0
    x = 0
    while time.thread_time() < end:
        x += 1
    return x


def work():
    spend(WORK_MS)
    if SLEEP_MS:
        time.sleep(SLEEP_MS / 1000.0)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Served-By", NAME)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/health" and SICK_AFTER and served >= SICK_AFTER:
            self.answer(500, {"status": "sick"})
        elif self.path == "/health":
            self.answer(200, {"status": "ok"})
        else:
            self.answer(404, {"error": "not_found"})

    def do_POST(self):
        global served
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if self.path != "/predict":
            self.answer(404, {"error": "not_found"})
            return
        try:
            json.loads(body or b"{}")
        except ValueError:
            self.answer(400, {"error": "bad_json"})
            return
        if SLOTS:
            with SLOTS:
                work()
        else:
            work()
        served += 1
        self.answer(200, {"prediction": [151.0]})
        if CRASH_AFTER and served >= CRASH_AFTER:
            sys.stdout.flush()
            os._exit(3)

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    # http.server's default listen backlog is 5: a burst of new connections (a recycle
    # step, a scale-out) would overflow it. gunicorn's is 2048.
    request_queue_size = 128
    daemon_threads = True


print(f"{NAME} listening on 127.0.0.1:{PORT}", flush=True)
Server(("127.0.0.1", PORT), Handler).serve_forever()
