#!/usr/bin/python3
"""The HTTPS server of the real-ZFS import tests, on loopback.

Serves the files of --root with the certificate the test made (signed by the
test's own CA). Prints "PORT <n>" once listening. Query parameters shape the
response, so that one server covers every case:
  ?rate=N      send at most N bytes per second (to catch a job mid-transfer)
  ?chunked=1   send no Content-Length (chunked encoding)
  ?redirect=K  answer with K redirects before the file
  ?goto=URL    answer with one redirect to URL (another host, say)
  ?lie=N       announce a Content-Length of N (the body stays the file)
A missing file is a 404.
"""
import argparse
import os
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("https_server: " + (fmt % args) + "\n")

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        if "goto" in query:
            self.send_response(302)
            self.send_header("Location", query["goto"])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        redirects = int(query.get("redirect", "0"))
        if redirects > 0:
            query["redirect"] = str(redirects - 1)
            self.send_response(302)
            self.send_header("Location", url.path + "?" + urllib.parse.urlencode(query))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path = os.path.join(self.server.root, url.path.lstrip("/"))
        if not os.path.isfile(path):
            self.send_error(404)
            return
        size = os.path.getsize(path)
        chunked = query.get("chunked") == "1"
        rate = int(query.get("rate", "0"))
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", query.get("lie", str(size)))
        if "lie" in query:
            self.close_connection = True  # the client sees the body end early
        self.end_headers()
        piece = 64 * 1024 if rate == 0 else max(1024, rate // 10)
        try:
            with open(path, "rb") as f:
                while True:
                    data = f.read(piece)
                    if not data:
                        break
                    if chunked:
                        self.wfile.write(b"%x\r\n" % len(data) + data + b"\r\n")
                    else:
                        self.wfile.write(data)
                    if rate:
                        time.sleep(len(data) / rate)
                if chunked:
                    self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass  # the client went away (a cancelled import)


def exit_with_parent():
    """Exits once the test program that started this server is gone (killed
    at a time limit, say): a server left behind keeps the output pipe of
    whoever ran the tests open."""
    parent = os.getppid()
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.root = args.root
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=exit_with_parent, daemon=True).start()
    print("PORT %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
