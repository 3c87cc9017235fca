"""The Start Spark toolbar item at everyday widths (issue 13, 6): at 1280×800
and 1400×900, in JupyterLab with the file browser open and in Notebook 7,
through every state a user sees (not started, starting, ready, stopping,
failed), the item stays visible in the notebook toolbar, in the same place
and with the same width, and nothing of the toolbar moves into its "…"
overflow (or to a second row) compared with the toolbar before the start.

Four pages show the same notebook (Lab and Notebook 7, each at both sizes),
so one Spark start, clicked in one of them, is seen by all four (each page
follows the daemon).  A failed start is made in every page: Start with a
configuration deleted after the page listed it (refused at once).  A
recorder in each page samples the item's box, the toolbar's height and the
overflow's contents at every DOM change (a MutationObserver) and every
50 ms, so short states are measured too; the assertions compare every
sample with the first one, taken when the toolbar had settled.  Pictures of
every state and size go to artifacts/e2e/widths-*.png."""
import json
import re

import pytest
from playwright.sync_api import expect

import hubenv

pytestmark = pytest.mark.browser

USER = "e2ealice"
T_READY = 180_000  # ms: a cold JVM on a busy 2-core machine
SIZES = ((1280, 800), (1400, 900))
NOTEBOOK = "widths.ipynb"
# ?reset: Lab opens this notebook alone, not the user's last workspace
FRONTS = (("lab", f"lab/tree/{NOTEBOOK}?reset"), ("nb7", f"notebooks/{NOTEBOOK}"))
NEWS = "@jupyterlab/apputils-extension:notification"
GONE = "e2e-widths-gone"  # a configuration deleted after the page listed it
# every page: its own failed start passes through starting; the clicking
# page also sees its own stop; the others see the daemon's stopping when
# it lasts long enough to be sent (reported, not required)
STATES = {"not-started", "starting", "ready", "failed"}

RECORDER = """() => {
  const old = window.__sparkWidths;
  if (old) { old.observer.disconnect(); clearInterval(old.timer); }
  const rec = { samples: [] };
  const nameOf = el => {
    const classes = [...el.classList].filter(c => !c.startsWith('lm-mod')).sort().join('.');
    const cmd = el.querySelector('[data-command]');
    return classes + (cmd ? '#' + cmd.getAttribute('data-command') : '');
  };
  rec.sample = () => {
    const item = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-StartSpark-item');
    const chip = item && item.querySelector('.jp-StartSpark-chip');
    const kind = chip ? ([...chip.classList].find(c => c.startsWith('jp-StartSpark-chip-')) || '')
      .slice('jp-StartSpark-chip-'.length) : null;
    const r = item ? item.getBoundingClientRect() : null;
    const bar = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-NotebookPanel-toolbar');
    const opener = bar && bar.querySelector('.jp-Toolbar-responsive-opener');
    const over = [];
    document.querySelectorAll('.jp-Toolbar-responsive-popup').forEach(p => {
      for (const c of p.children) over.push(nameOf(c));
    });
    return {
      kind,
      x: r ? Math.round(r.x * 10) / 10 : null, y: r ? Math.round(r.y * 10) / 10 : null,
      w: r ? Math.round(r.width * 10) / 10 : null,
      visible: !!(r && r.width > 0 && r.height > 0 && r.right <= window.innerWidth),
      inToolbar: !!(item && bar && bar.contains(item)),
      barH: bar ? Math.round(bar.getBoundingClientRect().height) : null,
      opener: !!(opener && !opener.classList.contains('lm-mod-hidden')),
      over: over.sort().join(' ')
    };
  };
  const tick = () => {
    const s = rec.sample();
    const last = rec.samples[rec.samples.length - 1];
    if (!last || JSON.stringify(last) !== JSON.stringify(s)) rec.samples.push(s);
  };
  rec.observer = new MutationObserver(tick);
  rec.observer.observe(document.body, { subtree: true, childList: true, attributes: true,
                                        attributeFilter: ['class', 'style'] });
  rec.timer = setInterval(tick, 50);
  window.__sparkWidths = rec;
}"""


def make_notebook(hub, token, path):
    hubenv.make_notebook(hub, USER, token, path)


def item(page):
    # the notebook in view: Lab may have restored other notebooks of this user
    # (an earlier module's) in hidden tabs, each with its own toolbar item
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-StartSpark-item")


def chip_of(page, kind):
    return item(page).locator(f".jp-StartSpark-chip-{kind}")


def popover(page):
    return page.locator(".jp-StartSpark-popover")


def pick(page, config):
    """Picks a configuration in the item's popover, then closes it."""
    item(page).locator(".jp-StartSpark-menuButton").click()
    select = popover(page).locator('select[aria-label="Spark configuration"]')
    expect(select).to_be_enabled()
    select.select_option(config)
    page.keyboard.press("Escape")
    expect(popover(page)).to_have_count(0)


def settle(page):
    """Waits until the toolbar's layout stops changing (JupyterLab's toolbar
    moves items to its overflow at most every 500 ms); returns the sample."""
    prev = None
    for _ in range(40):
        cur = page.evaluate("() => window.__sparkWidths.sample()")
        if cur == prev:
            return cur
        prev = cur
        page.wait_for_timeout(700)
    raise AssertionError(f"the toolbar did not settle: {prev}")


def open_file_browser(page):
    expect(page.locator(".jp-NotebookPanel .jp-NotebookPanel-toolbar").first).to_be_attached(timeout=60_000)
    expect(page.locator("#filebrowser.jp-mod-restoring")).to_have_count(0, timeout=30_000)
    page.wait_for_timeout(500)
    fb = page.locator("#filebrowser")
    if not fb.is_visible():
        page.locator('.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="filebrowser"]').click()
    expect(fb).to_be_visible()


def shot(page, artifacts, name):
    page.mouse.move(2, 600)  # no hover tooltip over the toolbar
    page.screenshot(path=str(artifacts / f"widths-{name}.png"))
    page.screenshot(path=str(artifacts / f"widths-{name}-top.png"),
                    clip={"x": 0, "y": 0, "width": page.viewport_size["width"], "height": 360})


def try_shot(page, artifacts, name, kind):
    """A picture of a short state (starting, stopping) if still showing."""
    try:
        expect(chip_of(page, kind)).to_be_visible(timeout=3_000)
    except AssertionError:
        return  # a warm driver can be ready (or a stop done) before the first frame
    shot(page, artifacts, name)
    if not chip_of(page, kind).count():  # the state ended during the picture
        for f in (f"widths-{name}.png", f"widths-{name}-top.png"):
            (artifacts / f).unlink(missing_ok=True)


class View:
    """One page: a front end at one size."""

    def __init__(self, context, hub, front, path, size):
        self.front, self.size = front, size
        self.tag = f"{front}-{size[0]}"
        self.page = context.new_page()
        self.page.set_viewport_size({"width": size[0], "height": size[1]})
        self.page.goto(f"{hub.url}/user/{USER}/{path}")
        if front == "lab":
            open_file_browser(self.page)
        expect(item(self.page)).to_be_visible(timeout=60_000)

    def record(self):
        expect(chip_of(self.page, "not-started")).to_be_visible(timeout=60_000)
        self.page.evaluate(RECORDER)
        self.base = settle(self.page)
        assert self.base["visible"] and self.base["inToolbar"], (self.tag, self.base)

    def check(self, required):
        seen = self.page.evaluate("() => window.__sparkWidths.samples")
        kinds = {s["kind"] for s in seen}
        missing = required - kinds
        assert not missing, f"states not seen in {self.tag}: {missing}"
        base, bad = self.base, []
        for s in seen:
            if not (s["visible"] and s["inToolbar"]):
                bad.append(("not visible in the toolbar", s))
            elif abs(s["x"] - base["x"]) > 1 or abs(s["y"] - base["y"]) > 1:
                bad.append(("moved", s))
            elif abs(s["w"] - base["w"]) > 1:
                bad.append(("changed width", s))
            elif s["over"] != base["over"] or s["opener"] != base["opener"]:
                bad.append(("overflow changed", s))
            elif s["barH"] != base["barH"]:
                bad.append(("toolbar height changed", s))
        assert not bad, f"{self.tag}, settled {base}:\n" + "\n".join(map(str, bad[:10]))
        return sorted(kinds)


def test_one_place_and_width_in_every_state(browser, hub, users, artifacts):
    token = hub.user_token(USER)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(60_000)
    try:
        login = context.new_page()
        login.goto(f"{hub.url}/hub/login")
        login.fill("#username_input", USER)
        login.fill("#password_input", hubenv.PASSWORD)
        login.click("#login_submit")
        login.wait_for_url(re.compile(rf"/user/{USER}/lab"), timeout=120_000)
        make_notebook(hub, token, NOTEBOOK)
        # no question about Jupyter news over the pages
        r = hub.user_request("PUT", USER, f"lab/api/settings/{NEWS}", token,
                             json={"raw": json.dumps({"fetchNews": "false"})})
        assert r.status_code == 204, r.text
        r = hub.user_request("PUT", USER, f"sparkd/api/configs/{GONE}", token,
                             json={"display_name": "Deleted (e2e)", "master": "local[1]"})
        assert r.status_code == 200, r.text
        views = [View(context, hub, front, path, size) for front, path in FRONTS for size in SIZES]
        login.close()
        for v in views:  # every page listed GONE; now it goes
            v.page.locator(".jp-StartSpark-menuButton").click()
            expect(popover(v.page).locator(f'option[value="{GONE}"]')).to_be_attached()
            v.page.keyboard.press("Escape")
            expect(popover(v.page)).to_have_count(0)
        r = hub.user_request("DELETE", USER, f"sparkd/api/configs/{GONE}", token)
        assert r.status_code in (200, 204), r.text
        for v in views:
            v.record()
            shot(v.page, artifacts, f"{v.tag}-not-started")
        # failed, in every page
        for v in views:
            pick(v.page, GONE)
            item(v.page).locator(".jp-StartSpark-start").click()
            expect(chip_of(v.page, "failed")).to_be_visible(timeout=60_000)
            shot(v.page, artifacts, f"{v.tag}-failed")
            pick(v.page, "local")
        # one start and stop, clicked in the first page, seen in all
        first = views[0]
        item(first.page).locator(".jp-StartSpark-start").click()
        try_shot(first.page, artifacts, f"{first.tag}-starting", "starting")
        for v in views:
            expect(chip_of(v.page, "ready")).to_be_visible(timeout=T_READY)
            shot(v.page, artifacts, f"{v.tag}-ready")
            item(v.page).locator(".jp-StartSpark-menuButton").click()
            expect(popover(v.page).locator(".jp-StartSpark-ui")).to_be_visible()
            box = popover(v.page).bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= v.size[0], (v.tag, box)
            shot(v.page, artifacts, f"{v.tag}-ready-menu")
            v.page.keyboard.press("Escape")
            expect(popover(v.page)).to_have_count(0)
        item(first.page).locator(".jp-StartSpark-stop").click()
        try_shot(first.page, artifacts, f"{first.tag}-stopping", "stopping")
        for v in views:
            expect(chip_of(v.page, "not-started")).to_be_visible(timeout=60_000)
        first.page.wait_for_timeout(1200)  # room for a late reflow to be recorded
        lines = []
        for v in views:
            kinds = v.check(STATES | ({"stopping"} if v is first else set()))
            lines.append(f"{v.tag}: item at x={v.base['x']} w={v.base['w']}, "
                         f"overflow: {v.base['over'] or 'none'}; states seen: {' '.join(kinds)}")
        (artifacts / "widths.txt").write_text("\n".join(lines) + "\n")
        print("\n".join(lines))
    finally:
        context.close()
        if hub.server_state(USER):
            hub.stop_server(USER)
