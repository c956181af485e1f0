#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
# The agent's own answer time on its control socket, without a CLI process:
# one persistent sampler sends `status` every INTERVAL s (a new connection
# each time, as the CLI does) until STOPFILE is gone and prints
# "ok MS" / "fail MS" per call (MS from connect to the last frame read).
#
#	ctl_rtt.py SOCKET STOPFILE [INTERVAL]
import socket
import struct
import sys
import time

path, stop = sys.argv[1], sys.argv[2]
interval = float(sys.argv[3]) if len(sys.argv) > 3 else 0.2
# [1, false, "status"]: MG_CTL_VERSION, not JSON, the CLI's argv
body = b"\x93\x01\xc2\xa6status"
req = struct.pack(">I", len(body)) + body


def read_n(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError
        b += c
    return b


def call():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    try:
        s.connect(path)
        s.sendall(req)
        while True:
            n = struct.unpack(">I", read_n(s, 4))[0]
            f = read_n(s, n)
            if f[:1] == b"\x93":    # the last frame: [status, out, err]
                return f[1] == 0
    finally:
        s.close()


import os
while os.path.exists(stop):
    t = time.monotonic()
    try:
        ok = call()
    except (OSError, EOFError):
        ok = False
    ms = int((time.monotonic() - t) * 1000)
    print("%s %d" % ("ok" if ok else "fail", ms), flush=True)
    time.sleep(interval)
