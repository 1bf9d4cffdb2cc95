"""A tiny HTTP backend for the nginx tests: every request is answered 200
with JSON {"method", "path", "headers": [[name, value], ...], "body"} of what
it received, and appended (same JSON, one line) to --log when given.

    backend_echo.py --port 0 --ready-file F [--log FILE]

With --port 0 it binds a free loopback port and writes the number to the
ready file once it accepts connections. SIGTERM stops it cleanly.
"""

import argparse
import http.server
import json
import os
import signal
import socketserver
import sys
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive with nginx's upstream pool
    log_path = None
    log_lock = threading.Lock()

    def _answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n > 0 else b""
        record = {
            "method": self.command,
            "path": self.path,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body": body.decode("utf-8", errors="replace"),
        }
        data = json.dumps(record).encode("utf-8")
        if self.log_path:
            with self.log_lock, open(self.log_path, "ab") as f:
                f.write(data + b"\n")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Backend", "echo")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _answer

    def log_message(self, fmt, *args):  # quiet: the JSON log is the record
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--ready-file")
    ap.add_argument("--log")
    a = ap.parse_args(argv)
    Handler.log_path = a.log
    srv = Server(("127.0.0.1", a.port), Handler)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown).start())
    if a.ready_file:
        tmp = a.ready_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % srv.server_address[1])
        os.rename(tmp, a.ready_file)
    else:
        print(srv.server_address[1], flush=True)
    srv.serve_forever()
    srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
