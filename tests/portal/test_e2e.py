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


# --- The whole flow of issue 9 ----------------------------------------------------------------
def workspace_ready(page) -> None:
    page.locator("[data-workspace][data-ready]").wait_for(timeout=30_000)


def shapes(page) -> list[dict]:
    return page.evaluate(
        "window.annotatorWorkspace.state.shapes.map(s => ({type: s.type, cls: s.class_name, frame: s.frame_index}))"
    )


def stage_point(page, fx: float, fy: float) -> tuple[float, float]:
    """A point at (fx, fy) of the picture (fractions of its width and height), on screen."""
    return page.evaluate(
        """([fx, fy]) => {
            const c = window.annotatorWorkspace.canvas;
            const box = c.container.getBoundingClientRect();
            const s = c.world.scaleX(), p = c.world.position();
            return [box.left + p.x + fx * c.width * s, box.top + p.y + fy * c.height * s];
        }""",
        [fx, fy],
    )


def drag(page, a: tuple[float, float], b: tuple[float, float], steps: int = 8) -> None:
    page.mouse.move(*stage_point(page, *a))
    page.mouse.down()
    page.mouse.move(*stage_point(page, *b), steps=steps)
    page.mouse.up()


def click_at(page, fx: float, fy: float) -> None:
    page.mouse.click(*stage_point(page, fx, fy))


def wait_saved(page, timeout: float = 15) -> None:
    """Until the autosave has written every change (wait_for_function would need eval: CSP)."""
    deadline = time.time() + timeout
    while page.evaluate("() => window.annotatorWorkspace.dirty || Boolean(window.annotatorWorkspace.saving)"):
        assert time.time() < deadline, "the draft was not saved"
        page.wait_for_timeout(100)


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in").wait_for()


def open_project(page, name: str) -> None:
    nav(page, "Projects")
    page.get_by_role("link", name=name, exact=True).click()
    page.wait_for_load_state("load")


def create_project(page, name: str, kind: str) -> None:
    nav(page, "Projects")
    page.get_by_role("link", name="New project").click()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Kind").select_option(kind)
    template = page.get_by_label("Labels from template")
    template.select_option(template.locator("option", has_text="Head and neck CT").get_attribute("value"))
    page.get_by_role("button", name="Create project").click()
    flash(page, f"Project “{name}” created.")


def upload(page, path: Path) -> None:
    page.get_by_role("link", name="Upload", exact=True).click()
    page.locator("[data-upload][data-enhanced]").wait_for()  # upload.js has loaded
    page.get_by_label("Files", exact=True).set_input_files(str(path))
    page.get_by_role("button", name="Upload", exact=True).click()
    row = page.locator("[data-upload-files] tbody tr").first
    row.locator("[data-result]", has_text="accepted").wait_for(timeout=60_000)


def test_the_whole_annotation_flow_in_a_browser(page, tmp_path):
    """Sign in, create projects from the head-and-neck template, upload an image and a video
    (resumable chunks, outcomes live), get the next task, draw a box and a polygon, paint and
    erase a mask, submit; the reviewer returns it with a pinned comment; the annotator fixes
    and resubmits; the reviewer approves; the manager exports COCO and segmentation results
    and downloads both; a project is deleted through the in-page confirmation."""
    import zipfile

    from media import synthetic

    image = tmp_path / "neck-slice.png"
    image.write_bytes(synthetic.image_bytes(320, 240, seed=3))
    video = tmp_path / "neck-clip.mp4"
    video.write_bytes(synthetic.video_bytes(frames=12, size=(160, 120)))

    # The manager's part: two projects from the head-and-neck template, media uploaded.
    sign_in(page, "demo-owner")
    nav(page, "Members")  # the test above made demo-annotator a reviewer: back to annotating
    role = page.get_by_label("Role of demo-annotator", exact=True)
    if role.input_value() != "annotator":
        role.select_option("annotator")
        page.get_by_role("button", name="Save role of demo-annotator").click()
        flash(page, "demo-annotator is now Annotator.")
    create_project(page, "E2E HN images", "image")
    upload(page, image)
    assert "accepted → task" in page.locator("[data-upload-files]").inner_text()
    shot(page, "11-upload-progress")
    create_project(page, "E2E HN video", "video")
    upload(page, video)
    page.reload()
    assert page.locator("[data-import-history] tbody tr").count() >= 1
    shot(page, "12-import-history")

    # The video workspace: a track box on frame 1, shown again (interpolated) after scrubbing.
    page.get_by_role("button", name="Get next task").click()
    workspace_ready(page)
    assert page.locator("[data-frame-count]").inner_text() == "12"
    page.keyboard.press("1")
    page.keyboard.press("b")
    drag(page, (0.2, 0.2), (0.5, 0.6))
    assert [s["type"] for s in shapes(page)] == ["video_track"]
    page.keyboard.press("End")
    assert page.locator("#frame-number").input_value() == "12"
    drag(page, (0.4, 0.3), (0.7, 0.7))  # the selected track gets a keyframe here
    assert [s["type"] for s in shapes(page)] == ["video_track"]
    page.keyboard.press("v")
    page.keyboard.press("Home")
    page.keyboard.press("ArrowRight")
    assert page.locator("#frame-number").input_value() == "2"
    assert page.evaluate("window.annotatorWorkspace.visibleShapes()[0].interpolated") is True
    assert page.locator(".timeline-svg .tl-kf").count() == 2
    wait_saved(page)
    shot(page, "13-workspace-video-timeline")
    page.get_by_role("button", name="Submit").click()
    page.get_by_text("Submitted (revision").wait_for()
    sign_out(page)

    # The annotator: next task in the image project; box, polygon, brush and eraser; submit.
    sign_in(page, "demo-annotator")
    open_project(page, "E2E HN images")
    page.get_by_role("button", name="Get next task").click()
    workspace_ready(page)
    assert page.locator("[data-lock]").inner_text().startswith("Lock ")
    ai_status = page.locator("[data-ai-status]").inner_text()
    assert "AI tools are off" in ai_status  # no SAM checkpoint here: explained, tools hidden
    assert page.locator('[data-tool="ai-click"]').is_hidden()
    page.keyboard.press("1")
    page.keyboard.press("b")
    drag(page, (0.1, 0.1), (0.35, 0.4))
    page.keyboard.press("p")
    for fx, fy in [(0.5, 0.1), (0.8, 0.15), (0.75, 0.45), (0.55, 0.4)]:
        click_at(page, fx, fy)
    page.keyboard.press("Enter")
    page.keyboard.press("2")
    page.keyboard.press("r")
    drag(page, (0.2, 0.7), (0.7, 0.75), steps=15)
    page.keyboard.press("e")
    drag(page, (0.4, 0.6), (0.45, 0.85), steps=10)
    drawn = shapes(page)
    assert sorted(s["type"] for s in drawn) == ["bbox", "mask", "polygon"]
    painted = page.evaluate(
        """() => { const m = window.annotatorWorkspace.state.shapes.find(s => s.type === 'mask');
                   const c = m.geometry.rle.counts; return Array.isArray(c) ? c.length : -1; }"""
    )
    assert painted > 4  # the eraser cut the stroke: several runs
    page.keyboard.press("Control+z")
    assert page.evaluate("window.annotatorWorkspace.undoStack.length") >= 1
    page.keyboard.press("Control+Shift+z")
    wait_saved(page)
    assert "Saved" in page.locator("[data-save-state]").inner_text()
    shot(page, "14-workspace-image")
    page.keyboard.press("?")
    page.locator("#help-dialog").wait_for(state="visible")
    shot(page, "15-shortcuts-help")
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Submit").click()
    page.get_by_text("Submitted (revision").wait_for()
    sign_out(page)

    # The reviewer: next review, a comment pinned to a point, return with a comment.
    sign_in(page, "demo-reviewer")
    open_project(page, "E2E HN images")
    page.get_by_role("link", name="Review", exact=True).click()
    page.get_by_role("button", name="Review next submitted task").click()
    workspace_ready(page)
    assert page.get_by_role("button", name="Approve").is_visible()
    page.get_by_role("tab", name="Comments").click()
    page.get_by_role("button", name="Pin", exact=True).click()
    click_at(page, 0.6, 0.3)
    page.get_by_label("Comment", exact=True).fill("The polygon misses the left edge.")
    page.get_by_role("button", name="Add comment").click()
    page.locator(".comment", has_text="misses the left edge").wait_for()
    page.get_by_role("tab", name="History").click()
    page.locator(".history-item").last.click()  # r1: the three shapes added
    shot(page, "16-review-comment-and-diff")
    page.get_by_role("button", name="Return with comments").click()
    page.locator("#return-dialog").get_by_label("What to fix").fill("Please redo the polygon.")
    page.locator("#return-dialog").get_by_role("button", name="Return task").click()
    page.get_by_text("Returned to its annotator").wait_for()
    sign_out(page)

    # The annotator gets it back first, sees the pinned comments, fixes and resubmits.
    sign_in(page, "demo-annotator")
    open_project(page, "E2E HN images")
    page.get_by_role("button", name="Get next task").click()
    workspace_ready(page)
    page.get_by_role("tab", name="Comments").click()
    assert "Please redo the polygon." in page.locator("[data-comments]").inner_text()
    page.get_by_role("tab", name="Objects").click()
    page.locator(".object", has_text="polygon").click()
    page.keyboard.press("Delete")
    page.keyboard.press("p")
    for fx, fy in [(0.45, 0.1), (0.8, 0.15), (0.75, 0.45), (0.5, 0.42)]:
        click_at(page, fx, fy)
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Submit").click()
    page.get_by_text("Submitted (revision").wait_for()
    sign_out(page)

    # The reviewer approves.
    sign_in(page, "demo-reviewer")
    open_project(page, "E2E HN images")
    page.get_by_role("link", name="Review", exact=True).click()
    page.get_by_role("button", name="Review next submitted task").click()
    workspace_ready(page)
    page.get_by_role("button", name="Approve").click()
    page.get_by_text("Approved.").wait_for()
    sign_out(page)

    # The manager: tasks table, members' progress, exports of COCO and segmentation results.
    sign_in(page, "demo-owner")
    open_project(page, "E2E HN images")
    assert "demo-annotator" in page.locator("[aria-labelledby=people-title]").inner_text()
    page.get_by_role("link", name="Tasks", exact=True).click()
    assert "Reviewed" in page.locator("table.tasks").inner_text()
    shot(page, "17-tasks-table")
    page.get_by_role("link", name="Exports", exact=True).click()
    page.locator("[data-export-form][data-enhanced]").wait_for()
    downloads = {}
    for fmt in ("coco", "segmentation_results"):
        page.get_by_label("Format").select_option(fmt)
        if fmt == "segmentation_results":
            page.get_by_label("Separate masks per class").uncheck()
            page.locator("input[name=mix_opacity]").evaluate(
                "e => { e.value = '0.5'; e.dispatchEvent(new Event('input', {bubbles: true})); }"
            )
        page.get_by_role("button", name="Start export").click()
        page.locator("[data-export-status]", has_text="succeeded").wait_for(timeout=60_000)
        row = page.locator("[data-export-list] tbody tr").first
        with page.expect_download() as info:
            row.get_by_role("link", name="Download").click()
        target = tmp_path / f"{fmt}.zip"
        info.value.save_as(target)
        downloads[fmt] = zipfile.ZipFile(target).namelist()
    shot(page, "18-exports")
    assert any(n.endswith(".json") and "instances" in n for n in downloads["coco"])
    seg = downloads["segmentation_results"]
    assert any(n.startswith("GT_label/") for n in seg) and any(n.startswith("Mix_label/") for n in seg)
    assert not any(n.startswith("separate_masks/") for n in seg)

    # Models page: the stats chart is drawn by our own module.
    nav(page, "Models")
    page.locator("[data-stats-chart][data-drawn] svg").wait_for()
    shot(page, "19-models")

    # The in-page delete confirmation removes the video project.
    nav(page, "Projects")
    page.get_by_role("button", name="Delete E2E HN video").click()
    dialog = page.locator("#confirm-dialog")
    dialog.wait_for(state="visible")
    assert "Delete project “E2E HN video”?" in dialog.inner_text()
    dialog.get_by_role("button", name="Delete project").click()
    flash(page, "Deleted project “E2E HN video”.")
