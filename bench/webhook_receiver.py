#!/usr/bin/env python3
"""The webhook receiver of bench/destinations: a real HTTP server that accepts every POST.

    python3 bench/webhook_receiver.py PORT_FILE TOTALS_FILE

Listens on 127.0.0.1 at a free port (written into PORT_FILE once listening), answers every
POST with 200 after reading its whole body, and keeps running totals over the bodies it got:
requests, events (each pghost batch's "count") and update lines ('"op":"update"' in the
body), rewritten into TOTALS_FILE as "requests events updates" (since it started) after each
request. It does not check signatures. Stopped by SIGTERM.
"""
import http.server
import json
import sys

totals = {"requests": 0, "events": 0, "updates": 0}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a production receiver would

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        totals["requests"] += 1
        totals["events"] += json.loads(body).get("count", 0)
        totals["updates"] += body.count(b'"op":"update"')
        with open(sys.argv[2], "w") as f:
            f.write("%d %d %d\n" % (totals["requests"], totals["events"], totals["updates"]))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def main():
    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    with open(sys.argv[2], "w") as f:
        f.write("0 0 0\n")
    with open(sys.argv[1], "w") as f:
        f.write("%d\n" % server.server_address[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
