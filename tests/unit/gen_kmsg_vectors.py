#!/usr/bin/env python3
"""Writes tests/data/kmsg/vectors.json: Jupyter wire-protocol vectors made
by jupyter_client.session.Session, read by tests/unit/test_kmsg.c.

Run from the repository root with the test venv:
    .venv/bin/python tests/unit/gen_kmsg_vectors.py [OUT]
Everything is fixed (key, session, msg_ids, dates), so the output is the same
on every run; the committed file is what the C test reads.

Three kinds of vector:
  decode  frames Session.serialize wrote (plus buffers, as Session.send
          appends them); sparkd must decode them to the same dicts and compute
          the same signature.
  encode  the exact frames sparkd must produce for a request built from a
          fixed stamp (compact JSON, jupyter_client's key order); each is
          checked here to be accepted by Session.deserialize, so byte equality
          in C means "jupyter_client accepts what sparkd sends".
  reject  frames Session.deserialize refuses (bad or missing signature);
          sparkd must refuse them with the named error.
"""

import datetime
import json
import os
import sys
import uuid

from jupyter_client.jsonutil import parse_date
from jupyter_client.session import DELIM, Session

KEY = "b0e1c2d3-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
SESSION = "6f1d2c3b-4a59-4e8f-9d0c-1b2a3f4e5d6c"
USERNAME = "sparkd"
OUT = os.path.join("tests", "data", "kmsg", "vectors.json")
UTC = datetime.timezone.utc


def frame_json(b):
    """A frame as it sits in the vector file: text when it is NUL-free
    UTF-8, else {"hex": ...}."""
    try:
        s = b.decode("utf-8")
    except UnicodeDecodeError:
        return {"hex": b.hex()}
    return {"hex": b.hex()} if "\0" in s else s


def header(msg_id, msg_type, when, session=SESSION, username="kernel"):
    return {
        "msg_id": msg_id,
        "msg_type": msg_type,
        "username": username,
        "session": session,
        "date": when,
        "version": "5.3",
    }


def kernel_session(key=KEY):
    return Session(key=key.encode(), session="kernel-session", username="kernel")


def serialize(sess, msg_type, content, parent=None, metadata=None, idents=None,
              buffers=(), msg_id="m-0001",
              when=datetime.datetime(2024, 5, 17, 9, 30, 12, 345678, tzinfo=UTC)):
    msg = sess.msg(msg_type, content=content, parent=parent or {},
                   header=header(msg_id, msg_type, when, session="kernel-session"),
                   metadata=metadata)
    return sess.serialize(msg, ident=idents) + list(buffers)


def decode_case(name, frames, key=KEY):
    sess = Session(key=key.encode()) if key else Session(key=b"")
    idents, rest = sess.feed_identities(frames)
    msg = sess.deserialize(rest)  # the reference accepts it
    assert msg["header"]["msg_id"]
    d = frames.index(DELIM)
    parts = frames[d + 2:d + 6]
    return {
        "name": name,
        "key": key,
        "frames": [frame_json(f) for f in frames],
        "idents": [frame_json(f) for f in frames[:d]],
        "buffers": [frame_json(f) for f in frames[d + 6:]],
        "signature": frames[d + 1].decode("ascii"),
        "header": json.loads(parts[0]),
        "parent_header": json.loads(parts[1]),
        "metadata": json.loads(parts[2]),
        "content": json.loads(parts[3]),
    }


def decode_vectors():
    k = kernel_session()
    parent = header("req-0001", "execute_request",
                    datetime.datetime(2024, 5, 17, 9, 30, 11, 1, tzinfo=UTC), username=USERNAME)
    out = []
    out.append(decode_case("status on iopub with topic", serialize(
        k, "status", {"execution_state": "busy"}, parent=parent,
        idents=[b"kernel.4b1d.status"])))
    out.append(decode_case("execute_reply with user_expressions", serialize(
        k, "execute_reply",
        {"status": "ok", "execution_count": 3, "payload": [],
         "user_expressions": {
             "app": {"status": "ok", "data": {"text/plain": "'local-1715938212345'"},
                     "metadata": {}},
             "port": {"status": "error", "ename": "NameError",
                      "evalue": "name 'spark' is not defined", "traceback": []}}},
        parent=parent,
        metadata={"started": "2024-05-17T09:30:11.5Z", "dependencies_met": True})))
    out.append(decode_case("stream with unicode and control characters", serialize(
        k, "stream",
        {"name": "stdout",
         "text": "Grüße, 世界 😀 — \"quoted\" \\ back\tslash\n\u0000nul\u001b[31mred\u2028"},
        parent=parent, idents=[b"stream.stdout"], msg_id="m-ünï")))
    out.append(decode_case("error with traceback", serialize(
        k, "error",
        {"ename": "Py4JJavaError", "evalue": "An error occurred while calling o42.count.",
         "traceback": ["line 1", "line 2 \u00e9", ""]},
        parent=parent, idents=[b"kernel.4b1d.error"])))
    out.append(decode_case("comm_msg with buffers", serialize(
        k, "comm_msg", {"comm_id": "c1", "data": {"method": "update", "buffer_paths": [["x"]]}},
        parent=parent, buffers=[b"\x00\x01\x02\xff\xfe", b"", "plain text".encode()])))
    out.append(decode_case("router identities", serialize(
        k, "kernel_info_reply",
        {"status": "ok", "protocol_version": "5.3", "implementation": "ipython",
         "language_info": {"name": "python", "version": "3.11.7"}, "banner": "",
         "help_links": [], "debugger": False, "nested": {"a": [1, 2.5, -3e300, None, True]}},
        parent=parent, idents=[b"\x00\x80\x00\x41\xa7", b"second"])))
    out.append(decode_case("large content", serialize(
        k, "stream", {"name": "stderr", "text": "x" * 70000}, parent=parent)))
    out.append(decode_case("unsigned, no key", serialize(
        kernel_session(key=""), "status", {"execution_state": "idle"}, parent=parent),
        key=""))
    out.append(decode_case("empty parent header", serialize(
        k, "status", {"execution_state": "starting"})))
    return out


def compact(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def encode_case(name, kind, rnd_hex, sec, nsec, key=KEY, code=None, user_expressions=None):
    rnd = bytes.fromhex(rnd_hex)
    msg_id = str(uuid.UUID(bytes=rnd, version=4))
    when = datetime.datetime.fromtimestamp(sec, UTC).replace(microsecond=nsec // 1000)
    date = when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert parse_date(date) == when, date
    hdr = {"msg_id": msg_id, "msg_type": kind, "username": USERNAME, "session": SESSION,
           "date": date, "version": "5.3"}
    if kind == "execute_request":
        content = {"code": code, "silent": False, "store_history": False,
                   "user_expressions": user_expressions or {}, "allow_stdin": False,
                   "stop_on_error": False}
    else:
        content = {}
    parts = [compact(hdr), compact({}), compact({}), compact(content)]
    sess = Session(key=key.encode()) if key else Session(key=b"")
    frames = [DELIM, sess.sign(parts)] + parts
    # The reference must accept exactly these bytes.
    idents, rest = sess.feed_identities(frames)
    msg = sess.deserialize(rest)
    assert msg["header"]["date"] == when
    assert msg["header"]["msg_id"] == msg_id
    assert msg["content"] == content
    case = {"name": name, "kind": kind, "key": key, "rnd": rnd_hex, "sec": sec, "nsec": nsec,
            "frames": [frame_json(f) for f in frames]}
    if code is not None:
        case["code"] = code
        case["user_expressions"] = user_expressions
    return case


def encode_vectors():
    return [
        encode_case("kernel_info_request", "kernel_info_request",
                    "00112233445566778899aabbccddeeff", 1715938212, 345678901),
        encode_case("kernel_info_request at a whole second", "kernel_info_request",
                    "ffffffffffffffffffffffffffffffff", 1700000000, 0),
        encode_case("execute_request with user_expressions", "execute_request",
                    "0123456789abcdef0123456789abcdef", 1715938212, 999999999,
                    code="import sparkd_start\nsparkd_start.start()\n",
                    user_expressions={"app_id": "spark.sparkContext.applicationId",
                                      "master": "spark.sparkContext.master",
                                      "ui_port": "int(spark.conf.get('spark.ui.port'))"}),
        encode_case("execute_request with unicode and quotes", "execute_request",
                    "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf", 86400 * 365 * 30, 1000,
                    code="print('Grüße 😀 \"x\" \\\\ \\n')\n\tpass\x01\x7f/</script>",
                    user_expressions=None),
        encode_case("execute_request without a key", "execute_request",
                    "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a", 1715938212, 1000, key="",
                    code="spark.stop()", user_expressions={}),
    ]


def reject_case(name, frames, error):
    sess = Session(key=KEY.encode())
    idents, rest = sess.feed_identities(frames)
    try:
        sess.deserialize(rest)
    except ValueError:
        pass
    else:
        sys.exit(f"jupyter_client accepted the reject vector {name!r}")
    return {"name": name, "key": KEY, "frames": [frame_json(f) for f in frames], "error": error}


def reject_vectors():
    k = kernel_session()
    good = serialize(k, "status", {"execution_state": "idle"})
    d = good.index(DELIM)
    tampered = list(good)
    tampered[d + 5] = tampered[d + 5].replace(b"idle", b"busy")
    upper = list(good)
    upper[d + 1] = upper[d + 1].upper()
    return [
        reject_case("content changed after signing", tampered, "EBADSIG"),
        reject_case("signed with another key",
                    serialize(kernel_session(key="not-the-key"), "status",
                              {"execution_state": "idle"}), "EBADSIG"),
        reject_case("unsigned", serialize(kernel_session(key=""), "status",
                                          {"execution_state": "idle"}), "EUNSIGNED"),
        reject_case("uppercase hex signature", upper, "EBADSIG"),
        reject_case("truncated signature", good[:d + 1] + [good[d + 1][:63]] + good[d + 2:],
                    "EBADSIG"),
    ]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else OUT
    vectors = {
        "generator": "tests/unit/gen_kmsg_vectors.py (jupyter_client.session.Session)",
        "session": SESSION,
        "username": USERNAME,
        "decode": decode_vectors(),
        "encode": encode_vectors(),
        "reject": reject_vectors(),
    }
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out, "w", encoding="utf-8") as f:
        json.dump(vectors, f, indent=1, ensure_ascii=True)
        f.write("\n")
    print(f"wrote {out}: {len(vectors['decode'])} decode, {len(vectors['encode'])} encode, "
          f"{len(vectors['reject'])} reject")


if __name__ == "__main__":
    main()
