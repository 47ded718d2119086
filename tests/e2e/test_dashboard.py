"""The job's HTTP side against a real broker: the live dashboard in headless Chromium, /metrics
through prometheus_client's parser, and `salesflow report` for one generated day.

Needs SALESFLOW_TEST_BROKERS (see conftest.py), and Debian's `chromium` and `chromium-driver`
(/usr/bin/chromium, /usr/bin/chromedriver; .ci/run installs them). Selenium is pointed at those
binaries, so it never downloads a browser or a driver.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
import urllib.request
from collections import Counter
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

import harness
from gen import INPUT_TOPICS, Gen
from harness import PROGRESS
from test_job import seed_for

RECORDS = 600
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SHOWN = ("sales_total", "sales_by_category", "sales_by_segment", "top_products_by_units",
         "top_products_by_revenue", "alerts", "data_quality", "sales_by_hour", "sales_by_day")
LIVE = {"placed", "paid", "shipped", "delivered"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def folded(brokers: str, prefix: str) -> dict[str, dict[str, dict]]:
    outputs = harness.read_all(brokers, prefix, SHOWN)
    return {topic: harness.fold(outputs[topic], "upsert") for topic in SHOWN}


def shown_number(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


@pytest.fixture
def browser():
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: `apt-get install -y chromium chromium-driver` "
                    "(.ci/run does it)", pytrace=False)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1400,1800"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def page_figures(driver) -> dict:
    """What the page shows: the totals, the category bars and the top products, as numbers."""
    by_id = lambda i: shown_number(driver.find_element(By.ID, i).text)  # noqa: E731
    categories = {t.get_attribute("data-key"): shown_number(t.text)
                  for t in driver.find_elements(By.CSS_SELECTOR, "#categories .bar-value")}
    top = []
    for row in driver.find_elements(By.CSS_SELECTOR, "#top-units tr"):
        cells = {c.get_attribute("data-field"): c.text for c in row.find_elements(By.TAG_NAME, "td")}
        if cells:
            top.append((int(cells["rank"]), cells["product_id"], shown_number(cells["units"]),
                        shown_number(cells["revenue"])))
    return {"orders": by_id("total-orders"), "units": by_id("total-units"),
            "revenue": by_id("total-revenue"), "avg_order_value": by_id("total-aov"),
            "categories": categories, "top_units": top}


def expected_figures(tables: dict[str, dict[str, dict]]) -> dict:
    total = next(iter(tables["sales_total"].values()))
    return {"orders": Decimal(total["orders"]), "units": Decimal(total["units"]),
            "revenue": Decimal(total["revenue"]), "avg_order_value": Decimal(total["avg_order_value"]),
            "categories": {r["category"]: Decimal(r["revenue"])
                           for r in tables["sales_by_category"].values()},
            "top_units": sorted((r["rank"], r["product_id"], Decimal(r["units"]), Decimal(r["revenue"]))
                                for r in tables["top_products_by_units"].values())}


def wait_for_page(driver, expected: dict, timeout: float) -> dict:
    """Waits until the page shows `expected`; returns what it shows then (or last, on timeout)."""
    last: dict = {}

    def shows_expected(d) -> bool:
        nonlocal last
        try:
            last = page_figures(d)
        except Exception:  # the page is between two renders or not loaded yet
            return False
        return last == expected

    try:
        WebDriverWait(driver, timeout, poll_frequency=0.25).until(shows_expected)
    except Exception:
        pass
    return last


def wait_for_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            assert time.monotonic() < deadline, f"{url} did not answer within {timeout} s"
            time.sleep(0.2)


def latest_live_usd_order(records):
    """The generator's last good, live, base-currency order whose key has no later record."""
    last = {}
    for rec in records:
        if rec.topic == "orders" and rec.good:
            last[rec.ident] = rec
    for rec in reversed(list(last.values())):
        d = rec.data
        if d is not None and d.get("currency") == "USD" and d.get("status") in LIVE:
            return rec
    raise AssertionError("the generated input has no live USD order to correct")


def test_dashboard_shows_the_folded_output_live(brokers, salesflow_bin, base_seed, prefix, tmp_path,
                                                browser):
    gen = Gen(seed_for(base_seed, "dashboard"))
    records = gen.records(RECORDS)
    harness.produce(brokers, prefix, records)
    addr = f"127.0.0.1:{free_port()}"
    log_path = tmp_path / "salesflow.log"
    job = harness.start_unbounded(salesflow_bin, brokers, prefix, "upsert", str(log_path),
                                  extra=["--http-addr", addr])
    logs = lambda: log_path.read_text(errors="replace")[-4000:]  # noqa: E731
    try:
        wait_for_http(f"http://{addr}/healthz")
        browser.get(f"http://{addr}/")
        ends = harness.input_ends(prefix, records)
        harness.wait_for_progress(brokers, prefix, ends, [job], logs, timeout=90)
        tables = folded(brokers, prefix)
        expected = expected_figures(tables)
        assert expected["orders"] > 0 and expected["categories"] and expected["top_units"]
        shown = wait_for_page(browser, expected, timeout=30)
        assert shown == expected, f"the dashboard shows {shown}\nbut the folded topics say {expected}"
        # Every alert and data-quality row the page lists is a current row of its topic.
        alert_reasons = {r["reason"] for r in tables["alerts"].values()}
        listed = [c.text for c in browser.find_elements(By.CSS_SELECTOR, "#alerts td[data-field=reason]")]
        assert listed and set(listed) <= alert_reasons, listed
        assert browser.find_element(By.ID, "alert-count").text == str(len(tables["alerts"]))
        consumed = {r["source_topic"]: r["consumed"] for r in tables["data_quality"].values()}
        for row in browser.find_elements(By.CSS_SELECTOR, "#quality tr"):
            cells = {c.get_attribute("data-field"): c.text for c in row.find_elements(By.TAG_NAME, "td")}
            if cells:
                assert int(cells["consumed"].replace(",", "")) == consumed[cells["source_topic"]]

        shot = tmp_path / "dashboard.png"
        assert browser.save_screenshot(str(shot))
        image = Image.open(shot).convert("RGB")
        colours = image.getcolors(maxcolors=image.width * image.height)
        background_share = max(colours)[0] / (image.width * image.height)
        assert len(colours) > 50 and background_share < 0.9, \
            f"the screenshot looks blank: {len(colours)} colours, {background_share:.0%} background"

        # /metrics: every record the job read is counted, under its topic, and nothing lags.
        check_metrics(f"http://{addr}/metrics", prefix, records)

        # A correction of one order: the page follows without a reload.
        browser.execute_script("window.stillTheSamePage = true")
        old = latest_live_usd_order(records)
        corrected = gen.render_order(old.ident, {**old.data, "quantity": old.data["quantity"] + 50})
        harness.produce(brokers, prefix, [corrected])
        ends = harness.input_ends(prefix, records + [corrected])
        harness.wait_for_progress(brokers, prefix, ends, [job], logs, timeout=60)
        after = expected_figures(folded(brokers, prefix))
        assert after["units"] == expected["units"] + 50, (expected["units"], after["units"])
        assert after["revenue"] > expected["revenue"]
        shown = wait_for_page(browser, after, timeout=30)
        assert shown == after, f"after the correction the dashboard shows {shown}\nnot {after}"
        assert browser.execute_script("return window.stillTheSamePage === true"), "the page reloaded"

        # A restart with a correction made while the job was down: the new job's dashboard starts
        # from the output committed before (every category is there, not only the one that
        # changed), and the open page reconnects by itself.
        assert harness.stop(job, timeout=30) == 0, logs()
        again = gen.render_order(old.ident, {**old.data, "quantity": old.data["quantity"] + 57})
        harness.produce(brokers, prefix, [again])
        job = harness.start_unbounded(salesflow_bin, brokers, prefix, "upsert", str(log_path),
                                      extra=["--http-addr", addr])
        ends = harness.input_ends(prefix, records + [corrected, again])
        harness.wait_for_progress(brokers, prefix, ends, [job], logs, timeout=60)
        restarted = expected_figures(folded(brokers, prefix))
        assert restarted["units"] == expected["units"] + 57, (expected["units"], restarted["units"])
        shown = wait_for_page(browser, restarted, timeout=30)
        assert shown == restarted, f"after the restart the dashboard shows {shown}\nnot {restarted}"
        assert browser.execute_script("return window.stillTheSamePage === true"), "the page reloaded"
    finally:
        code = harness.stop(job, timeout=30)
    assert code == 0, f"the job exited {code} on SIGTERM\n{logs()}"


def check_metrics(url: str, prefix: str, records) -> None:
    deadline = time.monotonic() + 20
    while True:
        text = urllib.request.urlopen(url, timeout=5).read().decode()
        samples, types = {}, {}
        for family in text_string_to_metric_families(text):
            types[family.name] = family.type
            for s in family.samples:
                samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
        consumed = {dict(labels)["topic"]: value for (name, labels), value in samples.items()
                    if name == "salesflow_records_consumed_total"}
        lag = {dict(labels)["topic"]: value for (name, labels), value in samples.items()
               if name == "salesflow_consumer_lag_records"}
        produced = Counter(prefix + r.topic for r in records)
        if consumed == produced and lag and not any(lag.values()):
            break
        assert time.monotonic() < deadline, \
            f"/metrics: consumed {consumed}, expected {dict(produced)}; lag {lag}\n{text[:3000]}"
        time.sleep(0.5)
    names = {name for name, _ in samples}
    for name in ("salesflow_records_applied_total", "salesflow_records_dead_lettered_total",
                 "salesflow_output_changes_total", "salesflow_epoch_latency_seconds_bucket",
                 "salesflow_last_progress_time_ms"):
        assert name in names, f"/metrics lacks {name}"
    assert samples[("salesflow_output_changes_total", (("topic", prefix + "sales_total"),))] > 0
    assert types["salesflow_records_consumed"] == "counter", types
    assert types["salesflow_epoch_latency_seconds"] == "histogram", types
    assert types["salesflow_consumer_lag_records"] == "gauge", types
    # Arrangement sizes, by the names the analyses give them. The stock counts' arrangement holds
    # at least one update per live count, and at most an insert and a retraction per record read.
    arranged = {dict(labels)["operator"]: value for (name, labels), value in samples.items()
                if name == "salesflow_arrangement_records"}
    assert arranged.get("live orders by second", 0) > 0, arranged
    counts = {}
    for r in records:
        if r.topic == "inventory" and r.good:
            counts[r.ident] = r.data
    live = sum(1 for count in counts.values() if count is not None)
    updates = sum(1 for r in records if r.topic == "inventory" and r.good)
    held = arranged.get("stock: counts by product")
    assert held is not None and live <= held <= 2 * updates, (held, live, updates, arranged)
    assert types["salesflow_arrangement_records"] == "gauge", types


class ReportData(HTMLParser):
    """Pulls the JSON of <script id="report-data"> out of the report page."""

    def __init__(self) -> None:
        super().__init__()
        self.inside, self.text = False, ""

    def handle_starttag(self, tag, attrs):
        self.inside = tag == "script" and ("id", "report-data") in attrs

    def handle_endtag(self, tag):
        self.inside = False

    def handle_data(self, data):
        if self.inside:
            self.text += data


def test_report_of_a_generated_day_matches_the_folded_topics(brokers, salesflow_bin, base_seed,
                                                              prefix, tmp_path, browser):
    records = Gen(seed_for(base_seed, "report")).records(RECORDS)
    harness.produce(brokers, prefix, records)
    harness.run_bounded(salesflow_bin, brokers, prefix, "upsert")
    tables = folded(brokers, prefix)
    day_row = max(tables["sales_by_day"].values(), key=lambda r: r["orders"])
    day = day_row["day"]
    out = tmp_path / "report.html"
    done = subprocess.run([salesflow_bin, "report", "--day", day, "-b", brokers,
                           "--topic-prefix", prefix, "-o", str(out)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    parser = ReportData()
    parser.feed(out.read_text())
    data = json.loads(parser.text, parse_float=Decimal)
    progress = harness.last_progress(harness.read_all(brokers, prefix, (PROGRESS,))[PROGRESS])
    assert data["as_of"] == progress["time"]
    assert data["day_total"] == day_row
    hours = sorted((r for r in tables["sales_by_hour"].values() if r["hour"].startswith(day + "T")),
                   key=lambda r: r["hour"])
    assert hours and data["hours"] == hours
    canonical = lambda row: json.dumps(row, sort_keys=True, default=str)  # noqa: E731
    assert sorted(data["categories"], key=canonical) == \
        sorted(tables["sales_by_category"].values(), key=canonical)
    assert data["top_products_by_units"] == sorted(tables["top_products_by_units"].values(),
                                                   key=lambda r: r["rank"])
    assert sorted(r["source_topic"] for r in data["data_quality"]) == \
        sorted(prefix + t for t in INPUT_TOPICS)
    assert all(a in tables["alerts"].values() for a in data["alerts"])

    # The Markdown summary names the day's figures as the job wrote them.
    summary = done.stdout
    assert f"# Sales report {day}" in summary
    total_line = next(line for line in summary.splitlines()
                      if line.startswith(f"| {day_row['orders']} |"))
    assert f"| {day_row['revenue']:.2f} |" in total_line, total_line
    for r in hours:
        assert re.search(rf"^\| {re.escape(r['hour'])} \| {r['orders']} \| {r['units']} \| "
                         rf"{r['revenue']:.2f} \|$", summary, re.M), r

    # The page draws itself from the inlined data, offline.
    browser.get(out.as_uri())
    shown = shown_number(browser.find_element(By.ID, "total-revenue").text)
    assert shown == day_row["revenue"]
    dots = {d.get_attribute("data-key"): Decimal(d.get_attribute("data-value"))
            for d in browser.find_elements(By.CSS_SELECTOR, "#hourly .dot")}
    assert dots == {f"{h:02}h": next((r["revenue"] for r in hours if r["hour"][11:13] == f"{h:02}"),
                                     Decimal(0))
                    for h in range(24)}, dots
