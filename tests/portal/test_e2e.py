"""End to end in a real browser: Debian's chromium driven by Playwright against the product
started the way users start it (``manage.py embedded`` on a free port, a temporary data
folder, the demo loaded). Screenshots of the main pages go to ``artifacts/screenshots/``.

Proves, beyond the test-client tests: the ES modules load under the strict CSP, dangerous
actions are confirmed by our own <dialog> (focus trapped, Esc cancels) and never by a
native browser dialog, drag-and-drop reorder reaches the reorder service, and the import
preview shows a bad row before anything is written.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = ROOT / "artifacts" / "screenshots"
PASSWORD = "try-annotator-2026"  # the published demo login

pytestmark = [
    pytest.mark.slow,
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The whole product on its embedded default, in a subprocess."""
    data = tmp_path_factory.mktemp("e2e-data")
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DRAMATIQ_BROKER_URL", "SECRET_KEY", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(DJANGO_SETTINGS_MODULE="annotator.settings", ANNOTATOR_DATA_DIR=str(data), PYTHONUNBUFFERED="1")
    log = open(data / "server.log", "w+")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "embedded", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 180
        while time.time() < deadline:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"embedded server exited:\n{log.read()}")
            try:
                if requests.get(f"{base}/login/", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail("embedded server did not start in 180 s")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def page(server):
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(base_url=server, viewport={"width": 1366, "height": 860})
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.native_dialogs = []
        page.console_errors = []

        def on_dialog(dialog):  # must never happen: we confirm in the page
            page.native_dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        page.on("dialog", on_dialog)
        # Forms re-rendered with their errors answer 400 on purpose; any other error counts.
        page.on(
            "console",
            lambda m: m.type == "error" and "(Bad Request)" not in m.text and page.console_errors.append(m.text),
        )
        page.on("pageerror", lambda e: page.console_errors.append(str(e)))
        try:
            yield page
        finally:
            context.close()
            browser.close()
    assert page.native_dialogs == [], "a native browser dialog opened"
    assert page.console_errors == [], "the page logged errors (CSP violation or script error?)"


def shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def sign_in(page, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Projects", exact=True).wait_for()


def nav(page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True).click()
    page.wait_for_load_state("load")  # module scripts have run: dialogs are ours from here on


def flash(page, text: str) -> None:
    page.locator(".messages").get_by_text(text, exact=False).wait_for()


def label_order(page) -> list[str]:
    return page.locator("tr[data-label-id]").evaluate_all("rows => rows.map(r => r.dataset.labelName)")


def test_projects_labels_templates_credentials_and_members_in_a_browser(page):
    page.goto("/login/")
    shot(page, "01-sign-in")
    sign_in(page, "demo-owner")
    shot(page, "02-projects")

    # Create a project from the built-in head-and-neck CT template.
    page.get_by_role("link", name="New project").click()
    page.get_by_label("Name").fill("E2E head and neck")
    page.get_by_label("Kind").select_option("dicom")
    template = page.get_by_label("Labels from template")
    template.select_option(template.locator("option", has_text="Head and neck CT").get_attribute("value"))
    page.get_by_role("button", name="Create project").click()
    flash(page, "Project “E2E head and neck” created.")
    assert page.locator(".chip", has_text="Brainstem").count() == 1
    shot(page, "03-project-overview")

    # Rename it from the list, in our own dialog.
    nav(page, "Projects")
    page.get_by_role("link", name="Rename E2E head and neck").click()
    rename = page.locator("#rename-dialog")
    assert rename.is_visible()
    name = rename.get_by_label("New name")
    assert name.input_value() == "E2E head and neck"
    name.fill("E2E HN renamed")
    rename.get_by_role("button", name="Rename").click()
    flash(page, "Renamed “E2E head and neck” to “E2E HN renamed”.")

    # Copy it (settings and labels only).
    page.get_by_role("link", name="Copy E2E HN renamed").click()
    copy = page.locator("#copy-dialog")
    copy.get_by_label("Name of the copy").fill("E2E HN copy")
    copy.get_by_label("Settings and labels only").check()
    copy.get_by_role("button", name="Copy").click()
    flash(page, "Copied the settings and labels of “E2E HN renamed”.")
    assert page.locator(".chip", has_text="Brainstem").count() == 1

    # Delete the copy through the in-page confirmation: Esc cancels, focus stays inside.
    nav(page, "Projects")
    page.get_by_role("button", name="Delete E2E HN copy").click()
    dialog = page.locator("#confirm-dialog")
    dialog.wait_for(state="visible")
    assert "Delete project “E2E HN copy”?" in dialog.inner_text()
    assert "This permanently removes" in dialog.inner_text()
    assert page.evaluate("document.activeElement.textContent") == "Cancel"
    for _ in range(5):
        page.keyboard.press("Tab")
        assert page.evaluate("document.getElementById('confirm-dialog').contains(document.activeElement)")
    shot(page, "04-delete-confirm-dialog")
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    assert page.get_by_role("link", name="E2E HN copy", exact=True).count() == 1
    page.get_by_role("button", name="Delete E2E HN copy").click()
    dialog.get_by_role("button", name="Delete project").click()
    flash(page, "Deleted project “E2E HN copy”.")
    assert page.get_by_role("link", name="E2E HN copy", exact=True).count() == 0

    # Labels: drag a row to the top, then move one with the keyboard; both are saved.
    page.get_by_role("link", name="E2E HN renamed", exact=True).click()
    page.get_by_role("link", name="Labels", exact=True).click()
    page.locator("[data-reorder-list][data-enhanced]").wait_for()  # labels.js has loaded
    before = label_order(page)
    third = before[2]
    page.locator(f'tr[data-label-name="{third}"]').drag_to(
        page.locator(f'tr[data-label-name="{before[0]}"]'), target_position={"x": 40, "y": 3}
    )
    status = page.locator("[data-reorder-status]")
    page.locator('[data-reorder-list][data-saved="1"]').wait_for()
    assert "Order saved" in status.text_content()
    dragged = [third, before[0], before[1], *before[3:]]
    assert label_order(page) == dragged
    page.locator(f'tr[data-label-name="{third}"]').focus()
    page.keyboard.press("Alt+ArrowDown")
    page.locator('[data-reorder-list][data-saved="2"]').wait_for()
    page.reload()
    page.locator("[data-reorder-list][data-enhanced]").wait_for()
    assert label_order(page) == [before[0], third, before[1], *before[3:]]
    shot(page, "05-labels")

    # Attribute schema editor on a label's edit page.
    page.get_by_role("link", name=f"Edit {third}").click()
    page.get_by_role("button", name="Add attribute").click()
    page.get_by_label("Attribute 1 name").fill("occluded")
    page.get_by_label("Attribute 1 type").select_option("checkbox")
    page.get_by_role("button", name="Add attribute").click()
    page.get_by_label("Attribute 2 name").fill("side")
    page.get_by_label("Attribute 2 options, comma separated").fill("left, right")
    page.get_by_role("button", name="Save label").click()
    flash(page, f"Saved label “{third}”.")
    row = page.locator(f'tr[data-label-name="{third}"]')
    assert "occluded: checkbox" in row.inner_text() and "side: select" in row.inner_text()

    # Import a template JSON: a bad row is shown in the preview, then a good file imports.
    nav(page, "Templates")
    shot(page, "06-template-library")
    page.get_by_role("link", name="Import JSON").click()
    bad = {"name": "E2E import", "labels": [{"name": "ok", "color": "#ff0000"}, {"name": "bad", "color": "red"}]}
    page.get_by_label("…or paste JSON").fill(json.dumps(bad))
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("[data-import-preview]")
    assert "1 problem to fix before importing" in preview.inner_text()
    assert "color must look like #RRGGBB" in preview.locator("tr.row-error").inner_text()
    assert page.get_by_role("button", name="Confirm import").count() == 0
    shot(page, "07-import-preview-errors")
    good = {"name": "E2E import", "labels": [{"name": "ok", "color": "#ff0000"}, {"name": "fine", "color": "#00ff00"}]}
    page.get_by_label("…or paste JSON").fill(json.dumps(good))
    page.get_by_role("button", name="Preview").click()
    assert "Ready to import 1 template" in page.locator("[data-import-preview]").inner_text()
    page.get_by_role("button", name="Confirm import").click()
    flash(page, "Imported 1 template")
    page.get_by_role("heading", name="E2E import").wait_for()

    # The template's rows are an editable table; Alt+↓ moves a row, saving keeps the order.
    editor_rows = page.locator("table.row-editor tbody tr")
    editor_rows.first.wait_for()  # template-editor.js has loaded
    assert editor_rows.count() == 2
    top = editor_rows.nth(0).locator("[data-k=name]").input_value()
    editor_rows.nth(0).locator("[data-k=name]").focus()
    page.keyboard.press("Alt+ArrowDown")
    page.get_by_label("Name of row 2").fill(f"{top} moved")
    page.get_by_role("button", name="Save template").click()
    flash(page, "Saved template “E2E import”.")
    names = page.locator("table.row-editor tbody [data-k=name]").evaluate_all("inputs => inputs.map(i => i.value)")
    assert names[1] == f"{top} moved"

    # API token: created, shown once, revoked through the in-page confirmation.
    page.get_by_role("link", name="demo-owner").click()
    page.locator("#token-name").fill("e2e token")
    page.get_by_role("button", name="Create token").click()
    secret = page.locator("#new-secret").input_value()
    assert secret.startswith("ann_")
    shot(page, "08-profile-token-once")
    api = page.request.get("/api/v1/projects", headers={"Authorization": f"Token {secret}"})
    assert api.status == 200
    page.goto("/profile/")
    assert secret not in page.content()
    page.get_by_role("button", name="Revoke e2e token").click()
    dialog.get_by_role("button", name="Revoke").click()
    flash(page, "Revoked the API token “e2e token”.")
    assert "revoked" in page.locator('tr[data-credential="e2e token"]').inner_text()
    assert page.request.get("/api/v1/projects", headers={"Authorization": f"Token {secret}"}).status == 401

    # Members: change a member's role.
    nav(page, "Members")
    page.get_by_label("Role of demo-annotator", exact=True).select_option("reviewer")
    page.get_by_role("button", name="Save role of demo-annotator").click()
    flash(page, "demo-annotator is now Reviewer.")
    assert page.get_by_label("Role of demo-annotator", exact=True).input_value() == "reviewer"
    shot(page, "09-members")
    nav(page, "Audit log")
    page.get_by_label("Action").select_option("member.role_changed")
    page.get_by_role("button", name="Filter").click()
    assert page.locator("table.audit tbody tr").count() == 1
    shot(page, "10-audit-log")


def test_an_annotator_sees_no_dangerous_buttons(page):
    sign_in(page, "demo-annotator")
    assert page.get_by_role("link", name="New project").count() == 0
    assert page.get_by_role("button", name=re.compile("^Delete")).count() == 0
    assert page.get_by_role("link", name="Members").count() == 0
    page.get_by_role("link", name="Head and neck CT (demo)").click()
    page.get_by_role("link", name="Labels", exact=True).click()
    assert page.locator("[data-reorder-list]").count() == 0
    assert page.get_by_role("button", name=re.compile("^Move")).count() == 0
