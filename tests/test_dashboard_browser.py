"""The dashboard in a real browser: headless Chromium (Debian's ``chromium``) driven by Playwright.

The demo server (``python -m spanlike.service.dashboard``) runs on a free
localhost port with the demo book; the page is loaded as a desk would load
it. Checks: the IM shown equals the API's (``GET /v1/accounts/demo/margin``,
the same float); an order typed in the ticket shows the incremental IM of
``POST /v1/accounts/demo/what-if`` (the same float) and its accept/reject;
a bad uploaded file shows the service's message with the file input
highlighted; switching the parameter set shows that set's IM (equal to
``spanlike.margin`` under it, 1e-9) and its grid; keyboard focus on a heatmap
cell reads out its loss; no horizontal scroll at 1280x800 and 1920x1080.
Screenshots at both sizes go to a temporary folder, or to docs/images/
(``dashboard_1280x800.png``, ``dashboard_1920x1080.png``) when
``SPANLIKE_UPDATE_SCREENSHOTS=1`` (so a test run does not rewrite tracked
images).

Skips, with the reason, only where no browser can be had: Playwright not
installed, or no Chromium at ``/usr/bin/chromium`` (``.ci/run`` installs it).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from importlib.resources import files
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed (pip install "
                               "'spanlike[dev]'); the dashboard's browser tests need it")

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
if CHROMIUM is None:
    pytest.skip("no Chromium at /usr/bin/chromium (install Debian's chromium package; .ci/run does)",
                allow_module_level=True)

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
IMAGES = Path(__file__).parents[1] / "docs" / "images"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, tmp: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(tmp / "server.log", "w+", encoding="utf-8")
        self.proc = subprocess.Popen([sys.executable, "-m", "spanlike.service.dashboard", "--port", str(self.port)],
                                     stdout=self.log, stderr=subprocess.STDOUT, cwd=tmp)
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(self.url + "/v1/health", timeout=2):
                    break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.log.seek(0)
                    raise RuntimeError(f"the demo server did not start: {self.log.read()}")
                time.sleep(0.2)
        self.log.seek(0)
        self.admin = next(line.split(": ")[-1].strip() for line in self.log.read().splitlines()
                          if line.startswith("demo API key"))

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        req = urllib.request.Request(self.url + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {self.admin}",
                                              "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as err:
            return json.loads(err.read())

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    srv = Server(tmp_path_factory.mktemp("dashboard"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser():
    # Playwright gives each launch a fresh temporary profile (it refuses --user-data-dir in launch()).
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def _page(browser, server: Server, width: int, height: int):
    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # A 422 the page asked for (a bad order or file) is logged by the browser; anything else is a fault.
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "status of 422" not in m.text else None)
    page.goto(server.url + "/")
    page.wait_for_selector("#im-value")
    page.wait_for_selector("#sets tr[data-set]")
    return page, errors


def _wait(page, cond, what: str, timeout: float = 30.0) -> None:
    """Poll ``cond()`` from Python: the page's CSP forbids the eval that ``wait_for_function`` uses."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        page.wait_for_timeout(50)


def _usd_is(page, selector: str, value: float) -> bool:
    got = page.get_attribute(selector, "data-usd") if page.locator(selector).count() else None
    return got is not None and float(got) == value


def _number(page, selector: str) -> float:
    return float(page.get_attribute(selector, "data-usd"))


def test_im_and_ticket_equal_the_api(browser, server: Server) -> None:
    page, errors = _page(browser, server, 1280, 800)
    api = server.api("GET", "/v1/accounts/demo/margin")
    im = api["margin"]["initial_margin_usd"]
    assert _number(page, "#im-value") == im
    assert page.text_content("#im-value").strip() == f"{im:,.2f} USD"
    assert _number(page, "#mm-value") == api["margin"]["maintenance_margin_usd"]
    # The ticket: typed, debounced, no reload (a marker set on window survives).
    page.evaluate("window.__noReload = 1")
    page.fill("#ins", "ETH-25DEC26-2800-P")
    page.fill("#qty", "-4")
    page.type("#qty", "0")  # -40, typed as a trader would; only the last value must show
    order = {"instrument": "ETH-25DEC26-2800-P", "quantity": -40.0, "unit": "coin"}
    want = server.api("POST", "/v1/accounts/demo/what-if", {"orders": [order]})
    _wait(page, lambda: _usd_is(page, "#inc-im", want["incremental_initial_margin_usd"]), "the ticket")
    assert _number(page, "#inc-im") == want["incremental_initial_margin_usd"]
    assert _number(page, "#inc-mm") == want["incremental_maintenance_margin_usd"]
    assert page.text_content("#decision").startswith("ACCEPT" if want["accept"] else "REJECT")
    assert page.evaluate("window.__noReload") == 1
    # The tight account rejects the same order, as the API does.
    page.select_option("#account", "demo-tight")
    _wait(page, lambda: page.text_content("#sum-sub").startswith("demo-tight"), "demo-tight")
    tight = server.api("POST", "/v1/accounts/demo-tight/what-if", {"orders": [order]})
    assert tight["accept"] is False
    _wait(page, lambda: _usd_is(page, "#inc-im", tight["incremental_initial_margin_usd"]), "the tight ticket")
    assert page.text_content("#decision").startswith("REJECT")
    assert tight["reason"] in page.text_content("#decision")
    # An unknown instrument: the service's message, the instrument field highlighted.
    page.fill("#ins", "BTC-NOPE")
    page.wait_for_selector("#ticket-error:not([hidden])")
    assert "BTC-NOPE" in page.text_content("#ticket-error")
    assert page.get_attribute("#ins", "aria-invalid") == "true"
    assert errors == []
    page.close()


def test_bad_file_shows_the_service_message(browser, server: Server, tmp_path: Path) -> None:
    page, errors = _page(browser, server, 1280, 800)
    bad = tmp_path / "bad_book.csv"
    bad.write_text("instrument,quantity,unit\nBTC-PERPETUAL,abc,usd\n", encoding="utf-8")
    want = server.api("POST", "/v1/books/parse", {"filename": "bad_book.csv", "content": bad.read_text()})["error"]
    page.check("input[name=source][value=file]")
    page.set_input_files("#file", str(bad))
    page.wait_for_selector("#book-error:not([hidden])")
    assert want["message"] in page.text_content("#book-error")
    assert page.get_attribute("#file", "aria-invalid") == "true" and "invalid" in page.get_attribute("#file", "class")
    # A good file then loads, and the highlight goes.
    good = tmp_path / "book.json"
    good.write_text((Path(__file__).parent / "data" / "deribit_positions_btc.json").read_text(), encoding="utf-8")
    page.set_input_files("#file", str(good))
    _wait(page, lambda: page.text_content("#sum-sub").startswith("book · 4 positions"), "the uploaded book")
    assert page.get_attribute("#file", "aria-invalid") is None
    assert errors == []
    page.close()


def test_switch_parameter_set(browser, server: Server) -> None:
    import spanlike
    from spanlike.market import MarketSnapshot
    from spanlike.portfolio import Portfolio

    page, errors = _page(browser, server, 1920, 1080)
    # crypto-span reads its cross offsets from futures and perpetuals only, and the page says so.
    _wait(page, lambda: "read from futures and perpetuals only" in page.text_content("#units"), "the offsets' source")
    page.select_option("#set", "deribit-style")
    _wait(page, lambda: "deribit-style" in page.text_content("#sum-sub"), "deribit-style")
    assert "futures and perpetuals only" not in page.text_content("#units")
    ref = spanlike.margin(Portfolio.from_csv(files("spanlike") / "data" / "demo_portfolio.csv"),
                          MarketSnapshot.from_file(files("spanlike") / "data" / "demo_market.json"), "deribit-style")
    assert math.isclose(_number(page, "#im-value"), ref.initial_margin_usd, rel_tol=1e-9)
    cells = page.locator("#heatmap .hm-cell")
    assert cells.count() == len(ref.commodities[0].scenario_losses)
    assert page.locator("#heatmap .hm-cell.hm-worst").count() == 1
    assert "exchange grid" in page.text_content("#hm-legend")
    # Keyboard: focus the worst cell and read its loss in coin and USD.
    page.focus("#heatmap .hm-cell.hm-worst")
    detail = page.text_content("#hm-detail")
    assert "loss" in detail and "BTC" in detail and "USD" in detail
    # Off the set in force the ticket uses the stateless check under the chosen set.
    page.fill("#ins", "BTC-PERPETUAL")
    page.fill("#qty", "100000")
    page.wait_for_selector("#inc-im")
    body = {"account": "demo", "parameter_set": "deribit-style",
            "orders": [{"instrument": "BTC-PERPETUAL", "quantity": 100000.0, "unit": "usd"}]}
    want = server.api("POST", "/v1/margin/what-if", body)
    _wait(page, lambda: _usd_is(page, "#inc-im", want["incremental_initial_margin_usd"]), "the ticket")
    assert errors == []
    page.close()


@pytest.mark.parametrize("width,height", [(1280, 800), (1920, 1080)])
def test_layout_and_screenshots(browser, server: Server, tmp_path: Path, width: int, height: int) -> None:
    page, errors = _page(browser, server, width, height)
    page.fill("#ins", "BTC-25DEC26-110000-C")
    page.fill("#qty", "-2")
    page.wait_for_selector("#decision")
    page.hover("#heatmap .hm-cell.hm-worst")
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "horizontal scroll: the layout breaks"
    # Numbers right-aligned with thousands separators.
    assert page.evaluate("getComputedStyle(document.querySelector('#components td.num')).textAlign") == "right"
    assert "," in page.text_content("#im-value")
    out = IMAGES if os.environ.get("SPANLIKE_UPDATE_SCREENSHOTS") == "1" else tmp_path
    shot = out / f"dashboard_{width}x{height}.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    assert errors == []
    page.close()
