"""A loopback HTTP server standing in for the SPID registry
(registry.spid.gov.it) in the registry tests: it serves the files of one
directory with an ETag (the SHA-256 of the content) and a Last-Modified (the
file's mtime), answers 304 to a matching conditional GET (If-None-Match
first, If-Modified-Since only without it, as RFC 9110 §13.2.2 says), and
records every request.

Special paths:
  /status/CODE/NAME   answer CODE with a short body (NAME is ignored)
  /redirect-http/NAME 302 to http://127.0.0.1:PORT/NAME (a redirect the
                      client must refuse: only https redirects are allowed)
  /huge               an endless body (the client's size cap must stop it)
  /slow               waits 30 s before answering (the client's timeout)

In-process (pytest):   srv = RegistryServer(directory); srv.url("good.xml");
                       srv.requests -> [Request]; srv.close()
As a process (the C unit test):
    registry_server.py DIR --port-file FILE [--log FILE]
writes the port to --port-file once listening, and one line per request to
--log: "STATUS PATH INM=<If-None-Match or -> IMS=<If-Modified-Since or ->".
"""

import argparse
import email.utils
import hashlib
import http.server
import os
import sys
import threading
import time
from dataclasses import dataclass


@dataclass
class Request:
    path: str
    status: int
    if_none_match: str
    if_modified_since: str


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _record(self, status):
        r = Request(self.path, status, self.headers.get("If-None-Match"),
                    self.headers.get("If-Modified-Since"))
        self.server.record(r)

    def _send(self, status, body=b"", headers=()):
        self._record(status)
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 304 and self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path.startswith("/status/"):
            code = int(path.split("/")[2])
            return self._send(code, b"status %d\n" % code, [("Content-Type", "text/plain")])
        if path.startswith("/redirect-http/"):
            target = "http://127.0.0.1:%d/%s" % (self.server.server_port,
                                                  path[len("/redirect-http/"):])
            return self._send(302, b"", [("Location", target)])
        if path == "/huge":
            self._record(200)
            self.send_response(200)
            self.send_header("Content-Type", "application/samlmetadata+xml")
            self.end_headers()
            chunk = b"<!--" + b"x" * 65536 + b"-->"
            try:
                for _ in range(400):  # ~26 MiB, well past the client's cap
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True
            return None
        if path == "/slow":
            self._record(200)  # now: the client gives up before the answer
            time.sleep(30)
            self.send_response(200)
            self.send_header("Content-Length", "4")
            self.end_headers()
            self.wfile.write(b"late")
            return None
        name = os.path.basename(path)
        full = os.path.join(self.server.directory, name)
        if not name or not os.path.isfile(full):
            return self._send(404, b"not found\n")
        with open(full, "rb") as f:
            body = f.read()
        etag = '"%s"' % hashlib.sha256(body).hexdigest()[:32]
        mtime = int(os.stat(full).st_mtime)
        last_modified = email.utils.formatdate(mtime, usegmt=True)
        headers = [("ETag", etag), ("Last-Modified", last_modified),
                   ("Content-Type", "application/samlmetadata+xml")]
        inm = self.headers.get("If-None-Match")
        ims = self.headers.get("If-Modified-Since")
        if inm is not None:
            if etag in [t.strip() for t in inm.split(",")]:
                return self._send(304, b"", headers)
        elif ims is not None:
            try:
                since = email.utils.parsedate_to_datetime(ims).timestamp()
            except (TypeError, ValueError):
                since = None
            if since is not None and mtime <= since:
                return self._send(304, b"", headers)
        return self._send(200, body, headers)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, directory, log_path=None):
        super().__init__(("127.0.0.1", 0), Handler)
        self.directory = directory
        self.log_path = log_path
        self.requests = []
        self.lock = threading.Lock()

    def record(self, r):
        with self.lock:
            self.requests.append(r)
            if self.log_path:
                with open(self.log_path, "a") as f:
                    f.write("%d %s INM=%s IMS=%s\n" % (r.status, r.path,
                                                       r.if_none_match or "-",
                                                       (r.if_modified_since or "-")
                                                       .replace(" ", "_")))


class RegistryServer:
    """The server in a thread, for pytest."""

    def __init__(self, directory):
        self.srv = Server(directory)
        self.port = self.srv.server_port
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return "http://127.0.0.1:%d/%s" % (self.port, path.lstrip("/"))

    @property
    def requests(self):
        with self.srv.lock:
            return list(self.srv.requests)

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("directory")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log")
    args = ap.parse_args()
    srv = Server(args.directory, args.log)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_port)
    os.rename(tmp, args.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
