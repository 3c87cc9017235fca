"""The marked code blocks of docs/admin-guide.md, as tests/guide runs them.

The scheme: an HTML comment alone on a line, right before a fenced block,

    <!-- guide-test: KIND -->
    ```sh
    ...
    ```

marks that block for the guide test. KIND says where the block runs:

    server      sh, as root on the servers' host, in the directory holding dist/
    hub         sh, as root on the hub's host, in the directory holding dist/
    hub-config  python, appended (in the guide's order) to jupyterhub_config.py
    user        sh, as a hub user, in the environment of their running server
                (what a terminal of that server has)

The blocks run verbatim, except for the three example paths the guide names
(PLACEHOLDERS), each replaced by the test's own directory: nothing else is
changed. A marker that is not followed by a fenced block of the right
language, or an unknown KIND, is an error (so a typo cannot drop a block).
"""
import re
from pathlib import Path

LANGUAGE = {"server": "sh", "hub": "sh", "hub-config": "python", "user": "sh"}

# the example paths of docs/admin-guide.md ("Install"): what each stands for
PLACEHOLDERS = {
    "/usr/local": "prefix",          # where the C part is installed (PREFIX)
    "/opt/singleuser": "server_venv",  # the servers' Python environment
    "/opt/jupyterhub": "hub_venv",     # the hub's Python environment
}

MARKER = re.compile(r"^<!--\s*guide-test:\s*(\S+)\s*-->\s*$")
FENCE = re.compile(r"^```(\w*)\s*$")


class GuideError(ValueError):
    pass


def blocks(text, source="docs/admin-guide.md"):
    """[(kind, line, code)] of the marked blocks, in the guide's order."""
    lines = text.splitlines()
    out = []
    i = 0
    while i < len(lines):
        m = MARKER.match(lines[i])
        if not m:
            if lines[i].lstrip().startswith("<!--") and "guide-test" in lines[i]:
                raise GuideError(f"{source}:{i + 1}: a malformed guide-test marker: {lines[i]!r}")
            i += 1
            continue
        kind, at = m.group(1), i + 1
        if kind not in LANGUAGE:
            raise GuideError(f"{source}:{at}: unknown guide-test kind {kind!r} (known: {', '.join(LANGUAGE)})")
        f = FENCE.match(lines[i + 1]) if i + 1 < len(lines) else None
        if not f or f.group(1) != LANGUAGE[kind]:
            raise GuideError(f"{source}:{at}: a guide-test: {kind} marker must be followed at once by "
                             f"a ```{LANGUAGE[kind]} block")
        body = []
        i += 2
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        if i == len(lines):
            raise GuideError(f"{source}:{at}: the block is never closed")
        out.append((kind, at, "\n".join(body) + "\n"))
        i += 1
    return out


def substitute(code, paths):
    """code with each placeholder replaced by paths[its name]."""
    for placeholder, name in PLACEHOLDERS.items():
        code = code.replace(placeholder, str(paths[name]))
    return code


def load(path, paths):
    """{kind: [(line, code with the placeholders replaced)]} of the guide at path."""
    found = {k: [] for k in LANGUAGE}
    for kind, line, code in blocks(Path(path).read_text(), str(path)):
        found[kind].append((line, substitute(code, paths)))
    return found
