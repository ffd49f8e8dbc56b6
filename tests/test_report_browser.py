"""The HTML report in a real browser: it loads with no console errors and every image renders."""

import shutil

import pytest

pytestmark = pytest.mark.pipeline


@pytest.fixture(scope="module")
def browser():
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip(
            "Debian packages chromium and chromium-driver are not installed (make test-deps)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    session = webdriver.Chrome(service=Service(driver), options=options)
    yield session
    session.quit()


@pytest.mark.parametrize("project_name", ["sr_project", "digits_project"])
def test_report_loads_cleanly_with_every_image(browser, request, project_name):
    project = request.getfixturevalue(project_name)
    browser.get((project / "reports/index.html").as_uri())
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.alt, i.complete && i.naturalWidth > 0]);"
    )
    assert len(images) >= 4
    assert [alt for alt, ok in images if not ok] == []
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []
    assert "Every artifact in every runtime" in browser.find_element("tag name", "h2").text
