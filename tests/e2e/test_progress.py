"""Spark work in the notebook (issue 14), in a real browser at 1280×800:
Debian's Chromium against the real hub, JupyterLab, extension, daemon and
PySpark.  A cell with a ~6 s job of two stages shows a live bar per job
under it, which reaches 100 % and folds into one summary line when the
cell is done, while the chip shows the activity; a failing job's cell
shows its error line and the chip turns amber until the popover is seen;
a configuration with an 8 s idle_stop counts down in the chip and then
says that Spark stopped, with Start again.

A recorder in the page samples the bars' values and the chip's label at
every DOM change and every 50 ms, so what only shows for a moment is
seen too.  Pictures go to artifacts/e2e/progress-*.png (the user guide's
docs/images/progress-*.png are taken from them); the moments from the
cell's run to its first bar and to the summary go to
artifacts/e2e/progress-timing.json (figures, not asserted)."""
import json
import re
import time

import pytest
from playwright.sync_api import expect

import hubenv

pytestmark = pytest.mark.browser

USER = "e2ealice"
NOTEBOOK = "progress.ipynb"
T_READY = 180_000  # ms: a cold JVM on a busy 2-core machine
NEWS = "@jupyterlab/apputils-extension:notification"
IDLE_CONFIG = "e2e-idle"
WIDTH, HEIGHT = 1280, 800

# two stages (a shuffle), 20 tasks of 0.5 s in the first: ~5 s on 2 cores
SLOW_JOB = """import time
def slow(x):
    time.sleep(0.25)
    return (x % 4, 1)
sorted(spark.sparkContext.parallelize(range(40), 20).map(slow).reduceByKey(lambda a, b: a + b).collect())"""
SLOW_ANSWER = "[(0, 10), (1, 10), (2, 10), (3, 10)]"

FAILING_JOB = """def boom(x):
    raise ValueError("e2e boom")
spark.sparkContext.parallelize(range(4), 2).map(boom).collect()"""

RECORDER = """() => {
  const old = window.__sparkProgress;
  if (old) { old.observer.disconnect(); clearInterval(old.timer); }
  const rec = { t0: performance.now(), firstBar: null, collapsedAt: null,
                pcts: {}, chips: [], warn: false };
  const tick = () => {
    const cell = document.querySelector('.e2e-progress-cell');
    const rows = cell ? cell.querySelectorAll('.jp-StartSpark-jobs .jp-StartSpark-job') : [];
    if (rows.length && rec.firstBar === null) rec.firstBar = performance.now() - rec.t0;
    rows.forEach(r => {
      const bar = r.querySelector('[role="progressbar"]');
      const v = Number(bar.getAttribute('aria-valuenow'));
      const list = (rec.pcts[r.dataset.jobId] = rec.pcts[r.dataset.jobId] || []);
      if (list[list.length - 1] !== v) list.push(v);
    });
    const w = cell && cell.querySelector('.jp-StartSpark-jobs.jp-mod-collapsed');
    if (w && rec.collapsedAt === null) rec.collapsedAt = performance.now() - rec.t0;
    const chip = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-StartSpark-chip');
    if (chip) {
      const t = chip.querySelector('.jp-StartSpark-chipText').textContent;
      if (rec.chips[rec.chips.length - 1] !== t) rec.chips.push(t);
      rec.warn = rec.warn || chip.classList.contains('jp-StartSpark-chip-warn');
    }
  };
  rec.observer = new MutationObserver(tick);
  rec.observer.observe(document.body, { subtree: true, childList: true, attributes: true,
                                        characterData: true });
  rec.timer = setInterval(tick, 50);
  window.__sparkProgress = rec;
}"""


def panel(page):
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)").first


def item(page):
    return panel(page).locator(".jp-StartSpark-item")


def chip(page):
    return item(page).locator(".jp-StartSpark-chip")


def chip_of(page, kind):
    return item(page).locator(f".jp-StartSpark-chip-{kind}")


def popover(page):
    return page.locator(".jp-StartSpark-popover")


def open_menu(page):
    if not popover(page).count():
        item(page).locator(".jp-StartSpark-menuButton").click()
    expect(popover(page)).to_be_visible()
    return popover(page)


def close_menu(page):
    page.keyboard.press("Escape")
    expect(popover(page)).to_have_count(0)


def pick(page, config):
    select = open_menu(page).locator('select[aria-label="Spark configuration"]')
    expect(select).to_be_enabled()
    select.select_option(config)
    close_menu(page)


def run(page, code):
    """Types code into the last cell and runs it (Shift+Enter) without
    waiting; returns the cell, marked for the recorder."""
    cells = panel(page).locator(".jp-Notebook .jp-Cell")
    cell = cells.nth(cells.count() - 1)
    page.evaluate("() => document.querySelectorAll('.e2e-progress-cell')"
                  ".forEach(c => c.classList.remove('e2e-progress-cell'))")
    cell.evaluate("c => c.classList.add('e2e-progress-cell')")
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(code)
    page.evaluate(RECORDER)
    page.keyboard.press("Shift+Enter")
    return cell


def done(cell, timeout=120_000):
    expect(cell.locator(".jp-OutputArea-output").first).to_be_visible(timeout=timeout)
    expect(cell.locator(".jp-InputPrompt")).not_to_contain_text("*", timeout=timeout)


def recorded(page):
    return page.evaluate("() => { const r = window.__sparkProgress;"
                         " return {firstBar: r.firstBar, collapsedAt: r.collapsedAt,"
                         " pcts: r.pcts, chips: r.chips, warn: r.warn}; }")


def shot(page, artifacts, name, bottom=None):
    """The page, and the top of it down to bottom (px) for the guide."""
    page.mouse.move(WIDTH - 10, HEIGHT - 10)  # no hover tooltip in the way
    page.screenshot(path=str(artifacts / f"progress-{name}-page.png"))
    h = HEIGHT if bottom is None else min(HEIGHT, int(bottom) + 12)
    page.screenshot(path=str(artifacts / f"progress-{name}.png"),
                    clip={"x": 0, "y": 0, "width": WIDTH, "height": h})


def chip_shot(page, artifacts, name):
    box = item(page).bounding_box()
    page.mouse.move(WIDTH - 10, HEIGHT - 10)
    page.screenshot(path=str(artifacts / f"progress-chip-{name}.png"),
                    clip={"x": max(0, box["x"] - 8), "y": max(0, box["y"] - 6),
                          "width": box["width"] + 16, "height": box["height"] + 12})


def daemon_progress(ctx):
    """The daemon's progress answers of the user's sessions (for failures)."""
    hub, token = ctx["hub"], ctx["token"]
    out = []
    for s in hub.user_get(USER, "sparkd/api/sessions", token).json().get("sessions", []):
        r = hub.user_get(USER, f"sparkd/api/sessions/{s['kernel_id']}/progress", token)
        out.append({"session": s, "progress": r.status_code == 200 and r.json() or r.text})
    return json.dumps(out, indent=1)[:6000]


def bottom_of(locator):
    b = locator.bounding_box()
    return b["y"] + b["height"]


@pytest.fixture(scope="module")
def ctx(browser, hub, users, artifacts):
    token = hub.user_token(USER)
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    context.set_default_timeout(60_000)
    page = context.new_page()
    console = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("dialog", lambda d: d.accept())  # leaving a notebook with changes
    page.on("response", lambda r: "/sparkd/api/" in r.url and console.append(
        f"{time.strftime('%H:%M:%S')} {r.request.method} {r.url.split('/sparkd/')[1]} {r.status}"))
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", USER)
    page.fill("#password_input", hubenv.PASSWORD)
    page.click("#login_submit")
    page.wait_for_url(re.compile(rf"/user/{USER}/lab"), timeout=120_000)
    hubenv.make_notebook(hub, USER, token, NOTEBOOK)
    r = hub.user_request("PUT", USER, f"lab/api/settings/{NEWS}", token,
                         json={"raw": json.dumps({"fetchNews": "false"})})
    assert r.status_code == 204, r.text
    # a personal configuration that stops Spark after 8 s without work
    r = hub.user_request("PUT", USER, f"sparkd/api/configs/{IDLE_CONFIG}", token,
                         json={"display_name": "Idle stop after 8 s (e2e)",
                               "master": "local[1]", "idle_stop": "8s"})
    assert r.status_code == 200, r.text
    page.goto(f"{hub.url}/user/{USER}/lab/tree/{NOTEBOOK}")
    expect(item(page)).to_be_visible(timeout=60_000)
    # room for the notebook: no left sidebar
    tab = page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current")
    if tab.count():
        tab.first.click()
    yield {"page": page, "hub": hub, "token": token, "artifacts": artifacts, "timing": {}}
    (artifacts / "progress-console.log").write_text("\n".join(console))
    context.close()
    hub.user_request("DELETE", USER, f"sparkd/api/configs/{IDLE_CONFIG}", token)
    if hub.server_state(USER):
        hub.stop_server(USER)


def test_a_long_job_shows_a_live_bar_that_folds_into_a_summary(ctx):
    page, art = ctx["page"], ctx["artifacts"]
    expect(chip_of(page, "not-started")).to_be_visible(timeout=60_000)
    item(page).locator(".jp-StartSpark-start").click()
    expect(chip_of(page, "ready")).to_be_visible(timeout=T_READY)
    chip_shot(page, art, "ready")
    # a first job warms the Python workers, so the measured one is all Spark
    warm = run(page, "spark.range(1000).count()")
    done(warm)
    try:
        expect(warm.locator(".jp-StartSpark-jobs")).to_be_visible(timeout=15_000)
    except AssertionError as e:
        raise AssertionError(f"no job display under the cell; the daemon says:\n{daemon_progress(ctx)}") from e
    cell = run(page, SLOW_JOB)
    t0 = time.monotonic()
    jobs = cell.locator(".jp-StartSpark-jobs")
    expect(jobs.locator(".jp-StartSpark-job").first).to_be_visible(timeout=30_000)
    # the first job's bar moves: a picture part-way
    bar = jobs.locator(".jp-StartSpark-job").first.locator('[role="progressbar"]')
    try:
        expect(bar).to_have_attribute("aria-valuenow", re.compile(r"^([3-8]\d)$"), timeout=30_000)
    except AssertionError:
        pass  # a fast host may pass the middle between two frames: the recorder tells
    if not jobs.evaluate("w => w.classList.contains('jp-mod-collapsed')"):
        shot(page, art, "running", bottom_of(cell))
        chip_shot(page, art, "running")
        # the bars are not in the notebook's outputs
        assert cell.locator(".jp-OutputArea .jp-StartSpark-jobs").count() == 0
    done(cell)
    expect(cell.locator(".jp-OutputArea-output").last).to_contain_text(SLOW_ANSWER)
    expect(jobs).to_have_class(re.compile(r"\bjp-mod-collapsed\b"), timeout=30_000)
    ctx["timing"]["slow_cell_s"] = round(time.monotonic() - t0, 2)
    rec = recorded(page)
    summary = jobs.locator(".jp-StartSpark-jobsSummary")
    expect(summary).to_have_text(re.compile(r"^\d+ Spark jobs? · [\d.:]+( s)?$"))
    shot(page, art, "summary", bottom_of(cell))
    # every job's bar reached 100 %, and one moved through values on the way
    assert rec["pcts"], rec
    for job_id, values in rec["pcts"].items():
        assert values[-1] == 100, (job_id, rec)
        assert values == sorted(values), (job_id, rec)
    assert any(len(v) >= 3 for v in rec["pcts"].values()), rec
    # the chip showed the activity: "N jobs · P %"
    assert any(re.fullmatch(r"\d+ jobs? · \d+ %", c) for c in rec["chips"]), rec["chips"]
    expect(chip(page)).to_contain_text("Ready")
    # the summary expands: each job at 100 %, a link to its Spark UI page
    jobs.locator(".jp-StartSpark-jobsToggle").click()
    rows = jobs.locator(".jp-StartSpark-job")
    expect(rows.first).to_be_visible()
    assert rows.count() == len(rec["pcts"])
    for i in range(rows.count()):
        expect(rows.nth(i).locator(".jp-StartSpark-jobPct")).to_have_text("100 %")
        link = rows.nth(i).locator("a.jp-StartSpark-jobLink")
        assert re.search(rf"^/user/{USER}/sparkd/ui/[0-9a-f-]+/jobs/job/\?id=\d+$",
                         link.get_attribute("href")), link.get_attribute("href")
        assert link.get_attribute("target") == "_blank"
    shot(page, art, "expanded", bottom_of(cell))
    jobs.locator(".jp-StartSpark-jobsToggle").click()
    expect(rows).to_have_count(0)
    ctx["timing"]["first_bar_ms"] = rec["firstBar"]
    ctx["timing"]["collapsed_ms"] = rec["collapsedAt"]
    ctx["slow_cell"] = cell


def test_a_rerun_clears_the_display(ctx):
    page = ctx["page"]
    cell = ctx["slow_cell"]
    old = cell.locator(".jp-StartSpark-jobs")
    expect(old).to_be_visible()
    # the user may keep the summary: the palette's command adds it as an output
    cell.locator(".jp-InputPrompt").click()
    page.keyboard.press("Control+Shift+c")
    palette = page.locator("#command-palette input")
    expect(palette).to_be_visible()
    palette.fill("Keep Spark Job Summary")
    page.keyboard.press("Enter")
    kept = cell.locator(".jp-OutputArea-output").last
    expect(kept).to_contain_text(re.compile(r"^1 Spark job · .*\n  Job \d+ · stage 2/2 · 40/40 tasks · .* · succeeded"))
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text("1 + 1")
    page.keyboard.press("Control+Enter")
    done(cell)
    expect(cell.locator(".jp-StartSpark-jobs")).to_have_count(0)
    # the notebook file holds no trace of the display
    page.keyboard.press("Control+s")
    page.wait_for_timeout(1000)
    nb = ctx["hub"].user_get(USER, f"api/contents/{NOTEBOOK}?content=1", ctx["token"]).json()
    assert "StartSpark" not in json.dumps(nb["content"]), nb
    assert "Spark job" not in json.dumps(nb["content"]), nb


def test_a_failing_job_shows_its_error_line_and_the_chip_turns_amber(ctx):
    page, art = ctx["page"], ctx["artifacts"]
    cell = run(page, FAILING_JOB)
    done(cell)
    expect(cell.locator(".jp-OutputArea-output").last).to_contain_text("e2e boom")
    jobs = cell.locator(".jp-StartSpark-jobs")
    expect(jobs).to_have_class(re.compile(r"\bjp-mod-failed\b"), timeout=30_000)
    expect(jobs).to_have_class(re.compile(r"\bjp-mod-collapsed\b"))
    expect(jobs.locator(".jp-StartSpark-jobsSummary")).to_contain_text("1 failed")
    err = jobs.locator(".jp-StartSpark-jobError").first
    expect(err).to_be_visible()
    text = err.inner_text()
    assert re.match(r"^Job \d+ failed: \S", text), text
    shot(page, art, "failed", bottom_of(jobs) + 60)  # and the traceback's first lines
    # the chip is amber until the popover was seen
    expect(chip_of(page, "warn")).to_be_visible(timeout=30_000)
    chip_shot(page, art, "failed")
    menu = open_menu(page)
    expect(menu.locator(".jp-StartSpark-popState")).to_contain_text("1 job failed")
    shot(page, art, "failed-menu", 420)
    close_menu(page)
    expect(chip_of(page, "warn")).to_have_count(0)
    expect(chip_of(page, "ready")).to_be_visible()
    ctx["failed_cell"] = cell


def test_idle_stop_counts_down_and_says_why_spark_stopped(ctx):
    page, art = ctx["page"], ctx["artifacts"]
    item(page).locator(".jp-StartSpark-stop").click()
    expect(chip_of(page, "not-started")).to_be_visible(timeout=60_000)
    pick(page, IDLE_CONFIG)
    page.evaluate(RECORDER)
    item(page).locator(".jp-StartSpark-start").click()
    expect(chip_of(page, "ready")).to_be_visible(timeout=T_READY)
    # under 5 minutes from the start: the chip counts down at once
    label = chip(page).locator(".jp-StartSpark-chipText")
    try:
        expect(label).to_have_text(re.compile(r"^Stops in 0:0[2-8]$"), timeout=5_000)
        chip_shot(page, art, "countdown")
    except AssertionError:
        pass  # a slow frame may miss the window: the recorder tells
    expect(chip_of(page, "notice")).to_be_visible(timeout=60_000)
    rec = recorded(page)
    counts = [c for c in rec["chips"] if re.fullmatch(r"Stops in 0:0\d", c)]
    assert counts, rec["chips"]
    assert counts == sorted(counts, reverse=True), counts
    expect(label).to_have_text("Stopped (idle)")
    # the cells keep what they showed of the earlier session
    expect(ctx["failed_cell"].locator(".jp-StartSpark-jobError")).to_be_visible()
    chip_shot(page, art, "idle")
    menu = open_menu(page)
    expect(menu.locator(".jp-StartSpark-popState")).to_have_text(
        re.compile(r"^Spark stopped after 8 s idle"))
    again = menu.locator(".jp-StartSpark-startAgain")
    expect(again).to_be_enabled()
    shot(page, art, "idle-menu", 420)
    # the kernel kept running: Start again starts Spark in it (the module's
    # end stops the server, and Spark with it)
    again.click()
    expect(item(page).locator(".jp-StartSpark-chip-starting, .jp-StartSpark-chip-ready")).to_be_visible()
    expect(chip_of(page, "notice")).to_have_count(0)
    (art / "progress-timing.json").write_text(json.dumps(ctx["timing"], indent=1) + "\n")


def test_notebook7_shows_the_jobs_of_a_lazy_start(ctx):
    """Notebook 7, a new notebook, no click: its kernel's lazy `spark`
    starts Spark at the first use, and the cell shows its jobs."""
    page, hub, token, art = ctx["page"], ctx["hub"], ctx["token"], ctx["artifacts"]
    hubenv.make_notebook(hub, USER, token, "progress-nb7.ipynb")
    nb7 = page.context.new_page()
    try:
        nb7.on("dialog", lambda d: d.accept())
        nb7.goto(f"{hub.url}/user/{USER}/notebooks/progress-nb7.ipynb")
        expect(item(nb7)).to_be_visible(timeout=60_000)
        expect(chip_of(nb7, "not-started")).to_be_visible(timeout=60_000)
        expect(panel(nb7).locator(".jp-Notebook .jp-Cell .cm-content").first).to_be_visible()
        cell = run(nb7, "spark.range(100000).selectExpr('sum(id)').collect()[0][0]")
        done(cell, timeout=T_READY)
        expect(cell.locator(".jp-OutputArea-output").last).to_contain_text("4999950000")
        jobs = cell.locator(".jp-StartSpark-jobs")
        expect(jobs).to_be_visible(timeout=30_000)
        expect(jobs.locator(".jp-StartSpark-jobsSummary")).to_have_text(
            re.compile(r"^\d+ Spark jobs? · [\d.:]+( s)?$"), timeout=30_000)
        shot(nb7, art, "nb7", bottom_of(cell))
    finally:
        nb7.close()
