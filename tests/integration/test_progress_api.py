"""GET /api/sessions/KERNEL/progress without Spark: the errors, and an
idle daemon that never polls (the JVM tests are in test_progress.py)."""
import uuid


def test_progress_errors_and_idle_counters(daemon):
    kid = str(uuid.uuid4())
    r = daemon.get(f"/api/sessions/{kid}/progress")
    assert r.status == 404 and r.json()["error"]["code"] == "session_not_found"
    r = daemon.get(f"/api/sessions/{kid}/progress?wait=5&version=0")
    assert r.status == 404  # no session: answered at once, never a wait
    r = daemon.get(f"/api/sessions/{kid}/progress?wait=-1")
    assert r.status == 400 and "'wait'" in r.json()["error"]["message"]
    for bad in ("x", "-1", "+1", ""):
        r = daemon.get(f"/api/sessions/{kid}/progress?wait=1&version={bad}")
        assert r.status == 400 and "'version'" in r.json()["error"]["message"], bad
    r = daemon.get("/api/sessions?wait=1&version=-1")  # once read as the largest: a wait to the end
    assert r.status == 400
    r = daemon.get("/api/sessions/not-a-kernel/progress")
    assert r.status in (400, 404)
    assert daemon.request("DELETE", f"/api/sessions/{kid}/progress").status in (404, 405)
    h = daemon.get("/api/health").json()["progress"]
    assert h == {"enabled": True, "polls": 0, "requests": 0, "failures": 0}


def test_progress_can_be_turned_off(daemon_factory):
    d = daemon_factory(env={"SPARKD_PROGRESS": "0"}).start()
    assert d.get("/api/health").json()["progress"]["enabled"] is False
    assert "live job progress is off" in d.output()
