"""Stands in for jupyterhub-singleuser under sparkd-launch: records what it
finds (its pid, the socket, the startup file, the daemon's answer, its
children) in the JSON file named by argv[1], then waits to be killed."""
import json
import os
import socket
import sys
import time


def health(path):
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(path)
        s.sendall(b"GET /api/health HTTP/1.1\r\nHost: sparkd\r\nConnection: close\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        return int(data.split(b" ", 2)[1])
    except (OSError, IndexError, ValueError) as e:
        return repr(e)


def children(pid):
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    kids.append({"pid": int(entry), "argv0": f.read().split(b"\0")[0].decode()})
        except OSError:
            pass
    return kids


out = sys.argv[1]
sock = os.environ.get("SPARKD_SOCKET", "")
ipython = os.environ.get("IPYTHONDIR") or os.path.join(os.environ.get("HOME", "/nonexistent"), ".ipython")
startup = os.path.join(ipython, "profile_default", "startup", "99-sparkd.py")
report = {
    "pid": os.getpid(),
    "socket": sock,
    "startup_exists": os.path.exists(startup),
    "health": health(sock) if sock else None,
    "children": children(os.getpid()),
    "argv": sys.argv[2:],
    "env": {k: v for k, v in os.environ.items() if k.startswith("SPARKD_")},
}
with open(out + ".tmp", "w") as f:
    json.dump(report, f)
os.rename(out + ".tmp", out)
if "--exit" in sys.argv:
    sys.exit(int(sys.argv[sys.argv.index("--exit") + 1]))
time.sleep(300)
