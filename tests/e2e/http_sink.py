"""A tiny HTTP receiver for tests (an SMS gateway, a webhook): every request
is appended as one JSON line to DIR/requests.jsonl:

    {"n", "status", "method", "path", "headers": {lower-case name: value},
     "header_list": [[name, value], ...], "body" (UTF-8 with replacement),
     "json" (the body parsed, or null)}

    http_sink.py DIR [--port 0] [--fail-first N] [--status CODE]

The first N requests are answered 500, the others CODE (default 200), each
with a small JSON body {"ok": bool, "n": n}. With --port 0 it binds a free
loopback port; once it accepts connections the number is written to
DIR/port (atomically) and to stdout. SIGTERM stops it.

From Python tests: start(DIR, "--fail-first", "2") -> Sink (.port,
.records(), .stop()).
"""

import argparse
import http.server
import json
import os
import signal
import socketserver
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_BODY = 1 << 20


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    directory = None
    fail_first = 0
    status = 200
    lock = threading.Lock()
    count = 0

    def _answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(n, MAX_BODY)) if n > 0 else b""
        with Handler.lock:
            Handler.count += 1
            k = Handler.count
            status = 500 if k <= Handler.fail_first else Handler.status
            text = body.decode("utf-8", errors="replace")
            try:
                parsed = json.loads(text) if text else None
            except ValueError:
                parsed = None
            record = {
                "n": k,
                "status": status,
                "method": self.command,
                "path": self.path,
                "headers": {name.lower(): value for name, value in self.headers.items()},
                "header_list": [[name, value] for name, value in self.headers.items()],
                "body": text,
                "json": parsed,
            }
            with open(os.path.join(Handler.directory, "requests.jsonl"), "a",
                      encoding="utf-8") as f:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
        data = json.dumps({"ok": 200 <= status < 300, "n": k}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _answer

    def log_message(self, fmt, *args):  # quiet: the JSON lines are the record
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main(argv=None):
    ap = argparse.ArgumentParser(description="HTTP sink for tests")
    ap.add_argument("dir")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--fail-first", type=int, default=0)
    ap.add_argument("--status", type=int, default=200)
    a = ap.parse_args(argv)
    os.makedirs(a.dir, exist_ok=True)
    Handler.directory = a.dir
    Handler.fail_first = a.fail_first
    Handler.status = a.status
    srv = Server(("127.0.0.1", a.port), Handler)
    stop = lambda *_: threading.Thread(target=srv.shutdown).start()  # noqa: E731
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    tmp = os.path.join(a.dir, "port.tmp")
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, os.path.join(a.dir, "port"))
    print(srv.server_address[1], flush=True)
    srv.serve_forever()
    srv.server_close()
    return 0


def start(directory, *args):
    from smtp_sink import spawn  # the shared process helper

    return spawn(os.path.join(HERE, "http_sink.py"), directory, "requests.jsonl", *args)


if __name__ == "__main__":
    sys.exit(main())
