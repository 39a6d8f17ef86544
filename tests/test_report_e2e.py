"""The report written by `csc-demand run` on the shared pipeline run, opened in headless Chromium (Debian's
`chromium`, driven by Playwright; never `playwright install`): no console errors, no network request, every
figure drawn with a non-zero size; screenshots kept under test-artifacts/ (git-ignored)."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from csc_demand.config import DisclosureConf
from csc_demand.report.publish import scan_outputs

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="module")
def report_dir(local_pipeline) -> Path:
    assert local_pipeline.exit_code == 0
    return local_pipeline.lakehouse / "report"


def test_run_ends_with_the_report_and_names_its_path(local_pipeline, report_dir):
    (summary,) = local_pipeline.summaries("run")
    assert summary["steps"][-1]["message"] == f"report: {report_dir / 'index.html'}"
    (report_summary,) = local_pipeline.summaries("report")
    las = sorted(p.stem[3:] for p in report_dir.glob("la_*.html"))
    assert report_summary["metrics"]["report_las"] == len(las) > 0
    # the data owner's workbook (its content: test_ingest.py) is under the lakehouse, never in the report
    workbook = Path(report_summary["metrics"]["restricted_workbook"])
    assert workbook.parent == local_pipeline.lakehouse.absolute() / "restricted" and workbook.is_file()


def test_no_identifier_and_no_small_count_anywhere_in_the_report(spark, local_pipeline, report_dir):
    keys = spark.read.format("delta").load(str(local_pipeline.lakehouse / "gold" / "assessment_category"))
    forbidden = [row["child_key"] for row in keys.select("child_key").distinct().collect()]
    assert scan_outputs(str(report_dir), DisclosureConf(), forbidden) == []
    for csv in report_dir.rglob("*.csv"):
        assert not {"child_key", "pupil_key", "assessment_key", "referral_key"} & set(pd.read_csv(csv, nrows=0).columns)


def listen(tab) -> tuple[list[str], list[str]]:
    """The console errors and the requests of one tab, as they come."""
    errors: list[str] = []
    requests: list[str] = []
    tab.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.on("request", lambda request: requests.append(request.url))
    return errors, requests


def test_pages_open_in_headless_chromium_without_errors_and_every_figure_has_a_size(report_dir):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    pages = [report_dir / "index.html", *sorted(report_dir.glob("la_*.html"))[:1]]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            for path in pages:
                tab = browser.new_page(viewport={"width": 1280, "height": 1000})
                errors, requests = listen(tab)
                tab.goto(path.as_uri())
                sizes = tab.eval_on_selector_all(
                    "figure svg", "svgs => svgs.map(s => [s.getBoundingClientRect().width, "
                                  "s.getBoundingClientRect().height])")
                tab.screenshot(path=str(ARTIFACTS / f"report-{path.stem}.png"), full_page=True)
                tab.close()
                assert errors == [], path.name
                assert requests == [path.as_uri()], path.name  # the page itself only: nothing from the network
                assert len(sizes) == len(re.findall("<figure>", path.read_text())) > 0, path.name
                assert all(width > 100 and height > 50 for width, height in sizes), (path.name, sizes)
        finally:
            browser.close()
