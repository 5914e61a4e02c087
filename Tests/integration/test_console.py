"""The web console (`/ui` on the admin port) in a real browser: headless
Chromium from Debian driven by Selenium, against a real 3-node cluster in
3 zones. Logs in, sees the nodes by zone, stages a change and sees its
preview, applies it, creates a bucket and a key (used then by boto3), sees
the partition map turn degraded when a node is killed; a scoped token is
refused a change, a form without its CSRF token is refused. Screenshots of
each page go to .build/test-output/console/ (or $SHALE_TEST_OUTPUT/console)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import requests

from botocore.exceptions import ClientError

from s3_clients import boto, provision
from shale_cluster import ADMIN_TOKEN, REPO, start_nodes, wait_until

CHROMIUM = shutil.which("chromium")
DRIVER = shutil.which("chromedriver")
try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError:  # pragma: no cover - reported as a skip below
    webdriver = None

OUTPUT = Path(os.environ.get("SHALE_TEST_OUTPUT", REPO / ".build" / "test-output")) / "console"
IPS = ["127.0.91.1", "127.0.91.2", "127.0.91.3"]


@pytest.fixture
def browser():
    if webdriver is None or not CHROMIUM or not DRIVER:
        pytest.skip(f"no browser for the console test (selenium: {webdriver is not None}, chromium: {CHROMIUM}, chromedriver: {DRIVER}); "
                    "scripts/install-deps.sh installs them")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def shot(driver, name: str) -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(OUTPUT / f"{name}.png"))


def log_in(driver, base: str, token: str) -> None:
    driver.get(base + "/ui/login")
    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.ID, "login").click()


def submit(driver, form_id: str) -> None:
    driver.find_element(By.CSS_SELECTOR, f"#{form_id} button[type=submit]").click()


def test_console_in_a_browser(browser, tmp_path):
    nodes = []
    try:
        start_nodes(tmp_path, IPS, nodes)
        key = provision(nodes, ["dc1", "dc2", "dc3"], "data", "app", code="2+1")
        base = f"http://{IPS[0]}:3902"
        # Pages reload under the waits (a form's redirect): an element gone or stale, or one the
        # browser drops between finding it and reading it ("Node with given id does not belong to
        # the document", a plain WebDriverException), is retried, not a failure.
        ignored = (NoSuchElementException, StaleElementReferenceException, WebDriverException)
        wait = WebDriverWait(browser, 20, ignored_exceptions=ignored)

        # Log in: a wrong token is refused on the page; the admin token opens the cluster map.
        log_in(browser, base, "not-a-token")
        # The click returns before the refused form's page has loaded: wait for it, not the page still shown.
        wait.until(lambda d: "not valid" in d.find_element(By.ID, "error").text)
        log_in(browser, base, ADMIN_TOKEN)
        wait.until(lambda d: d.current_url.endswith("/ui/cluster"))
        zones = browser.find_elements(By.CSS_SELECTOR, "section.zone")
        assert [z.get_attribute("data-zone") for z in zones] == ["dc1", "dc2", "dc3"]
        assert len(browser.find_elements(By.CSS_SELECTOR, "section.zone .dot.up")) == 3
        cookie = browser.get_cookie("shale_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/ui"
        # The chart fills from the node's counters once two samples are in.
        boto(nodes[0], key).list_objects_v2(Bucket="data")
        wait.until(lambda d: d.find_element(By.ID, "rate-now").text not in ("", "–"))
        shot(browser, "1-cluster")

        # Layout: stage a bigger capacity for the third node, see the preview, apply it.
        browser.get(base + "/ui/layout")
        assert "version 1" in browser.find_element(By.ID, "current").text
        third = nodes[2].node_id
        Select(browser.find_element(By.ID, "assign-node")).select_by_value(third)
        browser.find_element(By.ID, "assign-zone").send_keys("dc3")
        browser.find_element(By.ID, "assign-capacity").send_keys("20G")
        submit(browser, "assign")
        wait.until(lambda d: d.find_elements(By.ID, "preview"))
        assert "Staged" in browser.find_element(By.ID, "message").text
        preview = browser.find_element(By.ID, "preview").text
        assert "Preview of version 2" in preview and "usable capacity" in preview and "survives the loss of" in preview
        assert third[:16] in browser.find_element(By.ID, "staged-table").text
        shot(browser, "2-layout-preview")
        submit(browser, "apply")
        wait.until(lambda d: "applied" in d.find_element(By.ID, "message").text)
        assert "version 2" in browser.find_element(By.ID, "current").text
        assert nodes[1].api("GET", "/v1/layout")["currentVersion"] == 2 or wait_until(
            lambda: nodes[1].api("GET", "/v1/layout")["currentVersion"] == 2, what="layout 2 on another node")
        shot(browser, "3-layout-applied")

        # Buckets and keys: create both, allow the key, the secret shown once works with boto3.
        browser.get(base + "/ui/buckets")
        browser.find_element(By.ID, "bucket-name").send_keys("console-bucket")
        submit(browser, "create-bucket")
        wait.until(lambda d: "console-bucket" in d.find_element(By.ID, "buckets").text)
        browser.find_element(By.ID, "key-name").send_keys("console-key")
        submit(browser, "create-key")
        wait.until(lambda d: d.find_elements(By.ID, "new-key"))
        new_key = (browser.find_element(By.ID, "new-key-id").text, browser.find_element(By.ID, "new-key-secret").text)
        shot(browser, "4-key-created")
        Select(browser.find_element(By.ID, "perm-bucket")).select_by_visible_text("console-bucket")
        Select(browser.find_element(By.ID, "perm-key")).select_by_value(new_key[0])
        browser.find_element(By.ID, "perm-read").click()
        browser.find_element(By.ID, "perm-write").click()
        submit(browser, "permissions")
        wait.until(lambda d: "console-key (read,write)" in d.find_element(By.ID, "buckets").text)
        assert new_key[1] not in browser.page_source  # shown once, not on the page after
        client = boto(nodes[1], new_key, retries=3)

        def put_through_another_node():
            # The key, the bucket and the grant reach the other node by gossip; until they have, it refuses.
            try:
                return client.put_object(Bucket="console-bucket", Key="hello", Body=b"from the console") is not None
            except ClientError as error:
                if error.response["Error"]["Code"] in ("InvalidAccessKeyId", "AccessDenied", "NoSuchBucket"):
                    raise AssertionError(f"not yet: {error}")
                raise
        wait_until(put_through_another_node, what="the console's key works on another node")
        assert client.get_object(Bucket="console-bucket", Key="hello")["Body"].read() == b"from the console"
        shot(browser, "5-buckets")

        # Rebuild and scrub: the layout change's rebuild shows its phase.
        browser.get(base + "/ui/maintenance")
        wait.until(lambda d: d.find_element(By.ID, "rebuild-phase").text in ("done", "rebuilding", "verifying", "planning", "incomplete"))
        shot(browser, "6-maintenance")

        # Partitions: all full, then degraded once a node is killed (live, without reloading).
        browser.get(base + "/ui/partitions")
        assert browser.find_element(By.ID, "count-full").text == "256"
        assert len(browser.find_elements(By.CSS_SELECTOR, "#partition-map .p-full")) == 256
        shot(browser, "7-partitions-full")
        nodes[2].kill()
        WebDriverWait(browser, 30, ignored_exceptions=ignored).until(lambda d: d.find_element(By.ID, "count-degraded").text == "256")
        assert len(browser.find_elements(By.CSS_SELECTOR, "#partition-map .p-degraded")) == 256
        assert browser.find_element(By.ID, "count-unavailable").text == "0"
        # `shale status` reads the same source.
        assert "By the nodes answering now: 0 full, 256 degraded" in nodes[0].cli("status").stdout
        assert nodes[0].cli_json("status")["availability"]["map"] == "d" * 256
        shot(browser, "8-partitions-degraded")

        # A form posted without the session's CSRF token is refused, nothing made.
        session = requests.Session()
        session.cookies.set("shale_session", cookie["value"], path="/ui")
        refused = session.post(base + "/ui/buckets/create", data={"name": "forged"}, allow_redirects=False)
        assert refused.status_code == 403 and "CSRF" in refused.text
        assert "forged" not in nodes[0].cli("bucket", "list").stdout

        # A read-only token sees the pages but its changes are refused with the reason.
        read_only = nodes[0].cli_json("admin-token", "create", "viewer", "--scope", "read-only")["secretToken"]
        browser.find_element(By.CSS_SELECTOR, "form.logout button").click()
        wait.until(lambda d: d.current_url.endswith("/ui/login"))
        log_in(browser, base, read_only)
        wait.until(lambda d: d.current_url.endswith("/ui/cluster"))
        browser.get(base + "/ui/buckets")
        browser.find_element(By.ID, "bucket-name").send_keys("not-allowed")
        submit(browser, "create-bucket")
        wait.until(lambda d: d.find_elements(By.ID, "error"))
        assert "scope does not include CreateBucket" in browser.find_element(By.ID, "error").text
        assert "not-allowed" not in nodes[0].cli("bucket", "list").stdout
        shot(browser, "9-read-only-refused")
        # Revoking the token ends its session at the next request.
        nodes[0].cli("admin-token", "revoke", "viewer")
        browser.get(base + "/ui/cluster")
        assert "session ended" in browser.find_element(By.ID, "error").text
        # Each part of a page shows only what the token's scope reads through the API: ListBuckets alone sees no keys.
        narrow = nodes[0].cli_json("admin-token", "create", "bucket-lister", "--scope", "ListBuckets")["secretToken"]
        lister = requests.Session()
        assert lister.post(base + "/ui/login", data={"token": narrow}, allow_redirects=False).status_code == 303
        page = lister.get(base + "/ui/buckets")
        assert page.status_code == 200 and "console-bucket" in page.text
        assert 'id="keys-hidden"' in page.text and "console-key" not in page.text and new_key[0] not in page.text
        assert lister.get(base + "/ui/cluster").status_code == 403  # GetClusterStatus is not in its scope
        assert lister.get(base + "/ui/data/status").status_code == 403
        print(f"console screenshots: {OUTPUT}")
        assert len(list(OUTPUT.glob("*.png"))) >= 9
    finally:
        for node in nodes:
            node.kill()
