"""The web pages in a real browser: headless Chromium driven by selenium (chromium-driver),
phone-sized (390x844), against tools/sim.py --web. The whole setup flow, a refused value, a
wrong password, the test mail arriving at the simulator's sink, the status page after it.

Screenshots of each page go to the test's tmp dir; MTGW_PORTAL_SHOTS=1 also writes them to
docs/portal/ (docs/portal.md shows them). tools/install_browser.sh installs the browser.
"""

import os
import shutil

import pytest

from test_sim import ROOT, Sim

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
DOCS = os.path.join(ROOT, "docs", "portal")
PW = "gate-Pa55"


@pytest.fixture
def browser():
    if not (CHROMIUM and DRIVER):
        pytest.skip("chromium and chromium-driver not installed (tools/install_browser.sh)")
    webdriver = pytest.importorskip("selenium.webdriver")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=390,844"):
        opts.add_argument(a)
    opts.add_argument("--disable-dev-shm-usage")
    drv = webdriver.Chrome(options=opts, service=webdriver.ChromeService(DRIVER))
    drv.set_page_load_timeout(30)
    # the viewport of a phone (the window's outer size differs in headless mode)
    drv.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True},
    )
    yield drv
    drv.quit()


def shot(drv, tmp_path, name):
    path = str(tmp_path / (name + ".png"))
    drv.save_screenshot(path)
    if os.environ.get("MTGW_PORTAL_SHOTS"):
        os.makedirs(DOCS, exist_ok=True)
        shutil.copy(path, os.path.join(DOCS, name + ".png"))
    assert os.path.getsize(path) > 1000
    return path


def fill(drv, fields):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    for name, value in fields.items():
        el = drv.find_element(By.NAME, name)
        if el.tag_name == "select":
            Select(el).select_by_value(value)
        else:
            el.clear()
            el.send_keys(value)


def click(drv, button_id):
    from selenium.webdriver.common.by import By

    old = drv.find_element(By.TAG_NAME, "html")
    drv.find_element(By.ID, button_id).click()
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(drv, 20).until(lambda d: _stale(old))


def _stale(el):
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    try:
        _ = el.tag_name  # raises once the page was replaced
        return False
    except StaleElementReferenceException:
        return True
    except WebDriverException as e:
        # Chromium's other word for it while the new page replaces the old one
        if "does not belong to the document" in str(e):
            return True
        raise


def note(drv):
    from selenium.webdriver.common.by import By

    return drv.find_element(By.ID, "note").text


def test_setup_flow_in_a_phone_browser(browser, tmp_path):
    from selenium.webdriver.common.by import By

    sim = Sim(tmp_path, "--tcp", "127.0.0.1:0", "--web", "127.0.0.1:0")
    try:
        base = sim.info["web"].split(" ")[0].rstrip("/")
        drv = browser
        drv.get(base + "/")  # redirected to the setup page
        assert drv.current_url == base + "/setup" and drv.title == "mtgw Setup"
        options = [
            o.get_attribute("value") for o in drv.find_elements(By.CSS_SELECTOR, "#nets option")
        ]
        assert options == ["mtgw-sim-office", "mtgw-sim-workshop", "mtgw-sim-guest"]
        shot(drv, tmp_path, "setup")

        # first save: network, mail, and a page password (from now on every change needs it)
        fill(
            drv,
            {
                "WIFISSID": "mtgw-sim-office",
                "WIFIPW": "office-wifi-pw",
                "SENDERADDR": "panel@example.com",
                "REC1": "ops@example.com",
                "SMTPSEC": "0",
                "WEBPW": PW,
            },
        )
        click(drv, "save")
        assert note(drv) == "Saved."
        assert drv.find_element(By.ID, "WIFIPW").get_attribute("value") == ""  # write-only
        assert "office-wifi-pw" not in drv.page_source and PW not in drv.page_source
        shot(drv, tmp_path, "saved")

        # a refused value: the reason AT#SMTPPORT=99999 gives, nothing stored
        fill(drv, {"SMTPPORT": "99999", "pw": PW})
        click(drv, "save")
        assert note(drv) == "SMTPPORT: 34882: bad value"
        assert drv.find_element(By.ID, "SMTPPORT").get_attribute("aria-invalid") == "true"
        shot(drv, tmp_path, "refused")

        # a wrong page password
        drv.get(base + "/setup")
        fill(drv, {"SMTPUN": "someone", "pw": "not-it"})
        click(drv, "save")
        assert drv.title == "mtgw Wrong page password"
        shot(drv, tmp_path, "wrong-password")

        # the test mail, to the simulator's sink
        drv.get(base + "/setup")
        fill(drv, {"pw": PW})
        click(drv, "test")
        assert note(drv) == "Nothing to change. Test mail sent to ops@example.com."
        line = sim.readline(10)
        assert line.startswith("mail: ")
        with open(line[6:], "rb") as f:
            mail = f.read()
        assert b"From: <panel@example.com>" in mail and b"Subject: mtgw test mail" in mail
        shot(drv, tmp_path, "test-mail")

        # the status page after the mail
        drv.find_element(By.LINK_TEXT, "Status").click()
        body = drv.find_element(By.TAG_NAME, "body").text
        assert "Last mail delivered (250 OK stored)" in body, body
        assert '#SMTPLOG: "END",250,"OK stored"' in body
        assert "mtgw-sim-office joined" in body and "mtgw-V01.00" in body
        shot(drv, tmp_path, "status")
    finally:
        assert sim.stop() == 0
    err = sim.stderr()
    assert b"office-wifi-pw" not in err and PW.encode() not in err
