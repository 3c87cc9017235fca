"""The committed Jupyter wire-protocol vectors (read by tests/unit/test_kmsg.c)
are exactly what the pinned jupyter_client produces and accepts today."""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_kmsg_vectors_match_jupyter_client(tmp_path):
    out = tmp_path / "vectors.json"
    subprocess.run([sys.executable, str(ROOT / "tests/unit/gen_kmsg_vectors.py"), str(out)],
                   cwd=ROOT, check=True, capture_output=True)
    committed = (ROOT / "tests/data/kmsg/vectors.json").read_bytes()
    assert out.read_bytes() == committed, (
        "tests/data/kmsg/vectors.json is stale: rerun tests/unit/gen_kmsg_vectors.py")
