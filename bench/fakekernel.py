#!/usr/bin/env python3
"""A fake Jupyter kernel for measuring the daemon alone, without PySpark.

usage: fakekernel.py RUNTIME_DIR [COUNT]

Binds shell/control (ROUTER), iopub (PUB) and heartbeat (REP) on 127.0.0.1
for COUNT kernels, writes each one's connection file RUNTIME_DIR/kernel-<uuid>.json
and prints `kernel <uuid>` for each, then `ready`.  For every execute_request it
prints `exec <uuid> <t_ns>` with t_ns = time.perf_counter_ns() (CLOCK_MONOTONIC)
taken right after the message was received, and answers like ipykernel running
a no-op: IOPub busy, an `ok` execute_reply whose user_expressions carry the
`sparkd` entry the daemon reads, IOPub idle.  kernel_info_request (on shell or
control) is answered the same way, with busy/idle on IOPub.  Runs until stdin
closes or SIGTERM.
"""
import hashlib
import hmac
import json
import os
import signal
import sys
import time
import uuid
from datetime import datetime, timezone

import zmq

DELIM = b"<IDS|MSG>"
INFO = json.dumps({"app_id": "fake-app", "master": "local[1]", "spark_version": "0.0-fake",
                   "cores": 1, "memory": "1g", "ui_url": None})


class FakeKernel:
    def __init__(self, ctx, runtime_dir):
        self.id = str(uuid.uuid4())
        self.key = uuid.uuid4().hex.encode()
        self.session = str(uuid.uuid4())
        self.shell = ctx.socket(zmq.ROUTER)
        self.control = ctx.socket(zmq.ROUTER)
        self.iopub = ctx.socket(zmq.PUB)
        self.hb = ctx.socket(zmq.REP)
        ports = {}
        self.stdin = ctx.socket(zmq.ROUTER)  # bound so the port is real; never used
        for name in ("shell", "control", "iopub", "hb", "stdin"):
            s = getattr(self, name)
            s.setsockopt(zmq.LINGER, 0)
            ports[name] = s.bind_to_random_port("tcp://127.0.0.1")
        conn = {"transport": "tcp", "ip": "127.0.0.1", "key": self.key.decode(),
                "signature_scheme": "hmac-sha256", "kernel_name": "fake",
                "shell_port": ports["shell"], "control_port": ports["control"],
                "iopub_port": ports["iopub"], "hb_port": ports["hb"],
                "stdin_port": ports["stdin"]}
        self.path = os.path.join(runtime_dir, f"kernel-{self.id}.json")
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(conn, f)
        os.rename(tmp, self.path)
        self.count = 0

    def sign(self, parts):
        h = hmac.new(self.key, digestmod=hashlib.sha256)
        for p in parts:
            h.update(p)
        return h.hexdigest().encode()

    def send(self, sock, ids, msg_type, parent, content):
        header = {"msg_id": str(uuid.uuid4()), "session": self.session, "username": "fake",
                  "date": datetime.now(timezone.utc).isoformat(), "msg_type": msg_type,
                  "version": "5.3"}
        parts = [json.dumps(x).encode() for x in (header, parent, {}, content)]
        sock.send_multipart(list(ids) + [DELIM, self.sign(parts)] + parts)

    def status(self, parent, state):
        self.send(self.iopub, [b"kernel.%s.status" % self.id.encode()], "status", parent,
                  {"execution_state": state})

    def handle(self, sock, frames, t_ns):
        i = frames.index(DELIM)
        ids = frames[:i]
        header = json.loads(frames[i + 2])
        content = json.loads(frames[i + 5]) if len(frames) > i + 5 else {}
        kind = header.get("msg_type")
        if kind == "execute_request":
            print(f"exec {self.id} {t_ns}", flush=True)
        self.status(header, "busy")
        if kind == "execute_request":
            self.count += 1
            ue = {k: {"status": "ok", "data": {"text/plain": INFO}, "metadata": {}}
                  for k in (content.get("user_expressions") or {})}
            self.send(sock, ids, "execute_reply", header,
                      {"status": "ok", "execution_count": self.count, "user_expressions": ue,
                       "payload": []})
        elif kind == "kernel_info_request":
            self.send(sock, ids, "kernel_info_reply", header,
                      {"status": "ok", "protocol_version": "5.3", "implementation": "fake",
                       "implementation_version": "0", "language_info": {"name": "python"},
                       "banner": "", "help_links": []})
        self.status(header, "idle")

    def close(self):
        try:
            os.unlink(self.path)
        except OSError:
            pass


def main():
    runtime = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    ctx = zmq.Context()
    kernels = [FakeKernel(ctx, runtime) for _ in range(count)]
    poller = zmq.Poller()
    route = {}
    for k in kernels:
        for s in (k.shell, k.control, k.hb):
            poller.register(s, zmq.POLLIN)
            route[s] = k
        print(f"kernel {k.id}", flush=True)
    poller.register(sys.stdin, zmq.POLLIN)
    print("ready", flush=True)
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    try:
        while not stop:
            for s, _ in poller.poll(1000):
                if s is sys.stdin or s == sys.stdin.fileno():
                    if not sys.stdin.buffer.read1(4096):
                        stop.append(1)
                    continue
                frames = s.recv_multipart()
                t = time.perf_counter_ns()
                k = route[s]
                if s is k.hb:
                    s.send_multipart(frames)
                else:
                    k.handle(s, frames, t)
    finally:
        for k in kernels:
            k.close()
        ctx.destroy(linger=0)


if __name__ == "__main__":
    main()
