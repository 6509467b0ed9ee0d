"""In Debian's Chromium: the navbar bell and envelope, the notification list, Perpesanan compose/read/reply;
hostile text in notifications and messages is shown as text and never runs. Screenshots of each page."""

import pytest

from tests.conftest import browser_login, make_user, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HOSTILE = '<img src=x onerror="window.__xss=1">Yayasan <b>Contoh</b>'


def test_bell_dropdown_open_and_mark_all_read(page):
    from abah.notifications import services
    from abah.notifications.models import InternalMessage, Notification

    admin = make_user("admin", role="admin", first_name="Siti")
    rina = make_user("rina", role="petugas", first_name="Rina")
    make_user("budi", role="petugas", first_name="Budi")
    target = InternalMessage.objects.create(sender=admin, subject="Yayasan Contoh", body="-")
    services.notify(user=rina, kind="contact_changed", target=target, text="Kontak Yayasan Contoh diubah")
    services.notify(user=rina, kind="note_added", target=target, text="Catatan ditambahkan pada Yayasan Contoh")
    services.notify(user=rina, kind="note_added", target=target, text="Catatan kedua pada Yayasan Contoh")
    services.notify(user=rina, kind="reply_received", target=target, text=f"Balasan SMS: {HOSTILE}")
    budi = make_user("budi2", role="petugas", first_name="Budi")
    services.notify(user=budi, kind="note_added", text="Milik Budi saja")

    browser_login(page, "rina")
    page.wait_for_selector("text=Selamat datang, Rina")
    bell = page.locator("[data-testid=badge-notif]")
    assert bell.locator(".abah-badge").inner_text().startswith("3")
    bell.click()
    menu = page.locator(".abah-badge-menu").first
    menu.wait_for(state="visible")
    assert "Catatan kedua pada Yayasan Contoh (×2)" in menu.inner_text()
    assert "Balasan SMS: <img src=x" in menu.inner_text()  # shown as text
    assert "Milik Budi saja" not in page.content()
    assert page.evaluate("window.__xss") is None
    screenshot(page, "notifications-01-bell-dropdown")

    menu.locator("a.dropdown-item", has_text="Kontak Yayasan Contoh diubah").click()
    page.wait_for_url(f"**{target.get_absolute_url()}")
    assert Notification.objects.filter(user=rina, is_read=True).count() == 1
    assert page.locator("[data-testid=badge-notif] .abah-badge").inner_text().startswith("2")

    page.click("[data-testid=badge-notif]")
    page.click("[data-testid=notifications-mark_all_read]")
    page.wait_for_selector("text=Semua notifikasi telah ditandai sudah dibaca.")
    assert page.locator("[data-testid=badge-notif] .abah-badge").count() == 0

    page.goto(page.base_url + "/notifikasi/")
    page.wait_for_selector("h1:has-text('Notifikasi')")
    assert "Terdapat 3 notifikasi" in page.inner_text("main")
    assert page.evaluate("window.__xss") is None
    screenshot(page, "notifications-02-list")


def test_perpesanan_compose_read_reply(page, chromium):
    make_user("admin", role="admin", first_name="Siti")
    make_user("rina", role="petugas", first_name="Rina")
    make_user("budi", role="petugas", first_name="Budi")
    base = page.base_url

    browser_login(page, "admin")
    page.wait_for_selector("text=Selamat datang, Siti")
    page.click("[data-testid=badge-inbox]")
    page.click("a.dropdown-item:has-text('Pesan baru')")
    page.wait_for_selector("select[name=recipients]")
    page.select_option("select[name=recipients]", label=["Rina Test (Petugas)", "Budi Test (Petugas)"])
    page.fill("input[name=subject]", HOSTILE)
    page.fill("textarea[name=body]", "Rapat NPHD besok jam 09.00.\n" + HOSTILE)
    screenshot(page, "notifications-03-compose")
    page.click("button:has-text('Kirim')")
    page.wait_for_selector("text=Pesan anda telah dikirim.")
    assert page.inner_text("[data-testid=message-subject]") == HOSTILE
    assert page.evaluate("window.__xss") is None
    screenshot(page, "notifications-04-sent-message")

    reader_context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="id-ID",
                                          timezone_id="Asia/Jakarta")
    reader = reader_context.new_page()
    reader.set_default_timeout(15_000)
    reader.base_url = base
    browser_login(reader, "rina")
    reader.wait_for_selector("text=Selamat datang, Rina")
    envelope = reader.locator("[data-testid=badge-inbox]")
    assert envelope.locator(".abah-badge").inner_text().startswith("1")
    envelope.click()
    reader.locator(".abah-badge-menu").nth(1).wait_for(state="visible")
    assert reader.evaluate("window.__xss") is None
    screenshot(reader, "notifications-05-envelope-dropdown")
    reader.goto(base + "/notifikasi/pesan/")
    reader.wait_for_selector("h1:has-text('Perpesanan')")
    assert reader.evaluate("window.__xss") is None
    screenshot(reader, "notifications-06-inbox")
    reader.click("main a:has-text('Yayasan')")
    reader.wait_for_selector("[data-testid=message-body]")
    assert "Rapat NPHD besok jam 09.00." in reader.inner_text("[data-testid=message-body]")
    assert reader.locator("[data-testid=badge-inbox] .abah-badge").count() == 0
    reader.click("a:has-text('Balas')")
    reader.fill("textarea[name=body]", "Siap, hadir.")
    screenshot(reader, "notifications-07-reply")
    reader.click("button:has-text('Kirim')")
    reader.wait_for_selector("text=Pesan anda telah dikirim.")
    reader_context.close()

    page.goto(base + "/notifikasi/pesan/")
    page.wait_for_selector("main a:has-text('Re: <img')")
    assert page.locator("[data-testid=badge-inbox] .abah-badge").inner_text().startswith("1")
    page.goto(base + "/notifikasi/pesan/terkirim/")
    page.wait_for_selector("h1:has-text('Perpesanan')")
    assert page.evaluate("window.__xss") is None
    screenshot(page, "notifications-08-sent-list")

    # Budi, not a party to the reply, cannot open it.
    from abah.notifications.models import InternalMessage

    reply = InternalMessage.objects.get(parent__isnull=False)
    outsider_context = chromium.new_context(locale="id-ID")
    outsider = outsider_context.new_page()
    outsider.base_url = base
    browser_login(outsider, "budi")
    outsider.wait_for_selector("text=Selamat datang, Budi")
    response = outsider.goto(base + f"/notifikasi/pesan/{reply.pk}/")
    assert response.status == 404
    outsider_context.close()
