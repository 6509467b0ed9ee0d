"""Every page of the application lays out at 390 × 844 (a phone) and 1366 × 768 (a laptop) (issue 14, item 8).

The pages are not listed by hand: the test walks the project's URL patterns. Every named route without arguments is
opened directly; a route with arguments (a grant, an appointment, a dialog…) is opened with the first real URL of it
that an already opened page links to (`href`, `hx-get`, a GET form), so a new page or dialog is picked up as soon as
some page links to it. A route that could not be reached this way fails the test unless it is in EXCLUDED, with the
reason. A response that is a fragment is opened the way the application opens it: in the shared modal
(`#abah-modal-content`) over the page that links to it; fragments swapped elsewhere (live partials) are checked as
part of their host page.

On every page and dialog, at both sizes, in Indonesian and in English, as the anonymous visitor, the Admin and a Petugas (with a long name, as the
navbar must hold it), the test fails when
- the document is wider than the viewport (`document.documentElement.scrollWidth > innerWidth`), or
- a visible control (a, button, input, select, textarea) is clipped: its box goes beyond the viewport, or beyond an
  ancestor whose overflow is hidden/clip; a control inside its own scrolling box (overflow auto/scroll, e.g.
  `.table-responsive`) is fine when that box itself fits; or
- a select is too narrow for the text of its chosen option (when that text would fit on the screen at all);
- on the pages the issue names (STRICT), a box scrolls sideways (or a control is reached only that way).
All offenders are reported in one message. Screenshots of every page at both sizes: test-artifacts/layout-*.png.
"""

import os
import re
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.exceptions import Resolver404
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from abah.accounts.demo import DEMO_PASSWORD
from abah.core.access import required_role
from tests.conftest import browser_login, make_user, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = ((390, 844), (1366, 768))
SIMULATOR = {
    "default": {
        "BACKEND": "abah.sms.backends.simulator.SimulatorBackend",
        "OPTIONS": {"dlr_delay": [0, 0], "dead_suffixes": ["0000"]},
    }
}
# The few routes that are not pages, with the reason. Everything else must be reached and must lay out.
EXCLUDED = {
    "core:health": "a JSON answer for monitoring, not a page",
    "core:media": "serves uploaded files (avatars), not a page",
    "core:set_language": "POST only: switches the language and redirects",
    "accounts:logout": "POST only: logs out and redirects",
    "sms:callback": "an HTTP SMS provider's callback (delivery reports, replies), not a page",
}
# The pages the issue names (item 8): their tables must not scroll sideways either (the Undangan NPHD list's Aksi
# pencil was out of sight on a phone, the Pengguna table scrolled, the status page's gateway table overflowed).
STRICT = {"nphd:appointment_list", "accounts:user_list", "grants:grant_detail", "sms:status"}
# A long name in the navbar's "Selamat datang, …" and in the lists (the desktop navbar overflowed with one).
LONG_FIRST_NAME = "Raden Ajeng Kusumawardhani"
LONG_LAST_NAME = "Prawiranegara Wicaksono"

# In the page: every problem of the current layout, as strings.
CHECK = r"""
(strict) => {
  const vw = window.innerWidth, vh = window.innerHeight;
  const problems = [];
  const doc = document.documentElement.scrollWidth;
  if (doc > vw) { problems.push(`document ${doc}px wide > viewport ${vw}px`); }
  function describe(el) {
    let s = el.tagName.toLowerCase();
    if (el.id) { s += "#" + el.id; }
    const testid = el.getAttribute("data-testid");
    if (testid) { s += `[data-testid=${testid}]`; }
    if (el.getAttribute("name")) { s += `[name=${el.getAttribute("name")}]`; }
    const cls = (el.getAttribute("class") || "").trim().split(/\s+/).filter(Boolean).slice(0, 3);
    if (cls.length) { s += "." + cls.join("."); }
    const text = (el.innerText || el.value || el.getAttribute("aria-label") || el.getAttribute("title") || "")
      .trim().replace(/\s+/g, " ").slice(0, 40);
    if (text) { s += ` "${text}"`; }
    let parent = el.parentElement, path = [];
    while (parent && path.length < 3 && parent !== document.body) {
      const c = (parent.getAttribute("class") || "").trim().split(/\s+/).filter(Boolean)[0];
      path.unshift(parent.tagName.toLowerCase() + (c ? "." + c : ""));
      parent = parent.parentElement;
    }
    return (path.length ? path.join(" > ") + " > " : "") + s;
  }
  function visible(el) {
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.display === "none") { return false; }
    if (el.type === "hidden") { return false; }
    // Visually hidden on purpose (.visually-hidden, .btn-check): clipped to nothing by design.
    if (style.clipPath && style.clipPath !== "none") { return false; }
    if (style.clip && style.clip !== "auto") { return false; }
    const r = el.getBoundingClientRect();
    return r.width * r.height > 1 && el.getClientRects().length > 0;
  }
  function scrolls(style) {
    return ["auto", "scroll"].includes(style.overflowX) || ["auto", "scroll"].includes(style.overflowY);
  }
  function clips(style) {
    return ["hidden", "clip"].includes(style.overflowX) || ["hidden", "clip"].includes(style.overflowY);
  }
  const R = (r) => `${Math.round(r.left)}..${Math.round(r.right)}px`;
  if (strict) {  // no box of the page scrolls sideways
    for (const box of document.querySelectorAll("body *")) {
      const style = getComputedStyle(box);
      if (["auto", "scroll"].includes(style.overflowX) && box.scrollWidth > box.clientWidth + 1 && visible(box)) {
        problems.push(`${describe(box)} scrolls sideways: ${box.scrollWidth}px of content in ${box.clientWidth}px`);
      }
    }
  }
  for (const el of document.querySelectorAll("a, button, input, select, textarea")) {
    if (!visible(el)) { continue; }
    let box = el.getBoundingClientRect(), what = describe(el), inScroller = false;
    for (let a = el.parentElement; a && a !== document.documentElement; a = a.parentElement) {
      const style = getComputedStyle(a);
      if (style.position === "fixed") {  // a modal or a fixed bar: the viewport is its only bound
        break;
      }
      if (scrolls(style) && a !== document.body) {
        // Its own scrolling box: the control is reachable; from here on, the box itself must fit.
        const r = a.getBoundingClientRect();
        if (strict && (box.left < r.left - 1 || box.right > r.right + 1)) {
          problems.push(`${what} ${R(box)} is reached only by scrolling ${describe(a)} ${R(r)} sideways`);
        }
        box = r;
        what = `scroll box ${describe(a)} (holding ${describe(el)})`;
        inScroller = true;
        continue;
      }
      if (clips(style) && a !== document.body) {
        const r = a.getBoundingClientRect();
        const x = ["hidden", "clip"].includes(style.overflowX), y = ["hidden", "clip"].includes(style.overflowY);
        if ((x && (box.left < r.left - 1 || box.right > r.right + 1))
            || (y && !inScroller && (box.top < r.top - 1 || box.bottom > r.bottom + 1))) {
          problems.push(`${what} ${R(box)} clipped by ${describe(a)} ${R(r)}`);
          break;
        }
      }
    }
    if (box.left < -1 || box.right > vw + 1) {
      problems.push(`${what} ${R(box)} beyond the ${vw}px viewport`);
    }
    if (el.tagName === "SELECT" && !el.multiple && el.selectedIndex >= 0) {
      const style = getComputedStyle(el);
      const canvas = document.createElement("canvas").getContext("2d");
      canvas.font = `${style.fontStyle} ${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
      const text = el.options[el.selectedIndex].text.trim();
      const need = Math.ceil(canvas.measureText(text).width);
      const room = el.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
      // Only when the text would fit on the screen: a name longer than a phone is wide cannot be laid out.
      const frame = el.offsetWidth - el.clientWidth + parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
      if (need > room + 1 && need + frame <= vw - 32) {
        problems.push(`${describe(el)}: its option "${text.slice(0, 40)}" needs ${need}px, the select shows ${Math.floor(room)}px`);
      }
    }
  }
  return [...new Set(problems)];
}
"""


# ---------------------------------------------------------------- the routes


def iter_patterns(resolver=None, namespace=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from iter_patterns(entry, entry.namespace or namespace)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}:{entry.name}" if namespace else entry.name, entry


ROUTES = dict(iter_patterns())


def has_args(pattern: URLPattern) -> bool:
    return bool(pattern.pattern.converters) or "(?P<" in str(pattern.pattern)


def route_of(url: str) -> str | None:
    path = urlsplit(url).path
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return match.view_name


# ---------------------------------------------------------------- the data


def prepare_data():
    """Demo data plus what seed_demo leaves out at this size, so that every page and dialog has something to show:
    NPHD appointments (one processed), a broadcast, notifications, internal messages, users waiting for approval
    and deactivated, a template with two versions, a Pesan thread longer than one page, and long names."""
    from abah.accounts.models import User
    from abah.automation.broadcasts import broadcast_create, broadcast_run
    from abah.automation.services import template_save
    from abah.grants.models import Grant
    from abah.notifications.models import Notification
    from abah.notifications.services import message_send, notify
    from abah.nphd.demo import seed_appointments
    from abah.sms.models import Message
    from abah.sms.services import receive_message

    call_command("seed_demo", size=60, stdout=open("/dev/null", "w"))  # noqa: SIM115, PTH123
    admin = User.objects.get(username="admin")
    petugas = User.objects.get(username="petugas1")
    # Enough grants with an SK for the NPHD demo appointments (one processed, others waiting).
    spare = list(Grant.objects.filter(petugas=petugas, status=Grant.Status.ARSIP)
                 .filter(nphd_invitations__isnull=True).values_list("pk", flat=True)[:6])
    Grant.objects.filter(pk__in=spare).update(status=Grant.Status.DITETAPKAN)
    seed_appointments(size=60, stdout=open("/dev/null", "w"))  # noqa: SIM115, PTH123
    User.objects.filter(pk=petugas.pk).update(first_name=LONG_FIRST_NAME, last_name=LONG_LAST_NAME)
    User.objects.filter(pk=admin.pk).update(first_name="Raden Ayu Kusumaningrum")  # the Admin has one menu more
    make_user("pendaftarbaru", role="", active=False, approved_at=None, first_name=LONG_FIRST_NAME,
              last_name=LONG_LAST_NAME, email="kusumawardhani.prawiranegara.wicaksono@dinas-sosial.example.test")
    make_user("petugaslama", role="petugas", active=False, first_name=LONG_FIRST_NAME, last_name=LONG_LAST_NAME,
              email="petugas.lama.kusumawardhani@dinas-sosial.example.test")
    template_save(kind="incidental", text="Yth. {lembaga}, {isi} Info: {telp}", by=admin)
    broadcast = broadcast_create(by=petugas, filters={}, text="Uji tata letak: mohon abaikan pesan ini.")
    broadcast_run(broadcast_id=broadcast.pk)
    grant = Grant.objects.filter(petugas=petugas).order_by("pk").first()
    for user in (admin, petugas):
        notify(user=user, kind=Notification.Kind.NOTE_ADDED, text="Catatan baru pada hibah " + grant.kode,
               target=grant, actor=admin)
    message_send(sender=admin, recipients=[petugas], subject="Jadwal penandatanganan NPHD minggu depan",
                 body="Mohon siapkan berkas lembaga yang diundang.")
    message_send(sender=petugas, recipients=[admin], subject="Re: Jadwal penandatanganan NPHD",
                 body="Baik, berkas sudah disiapkan.")
    # A thread longer than one page of the Pesan dialog (its "older messages" partial).
    number = Message.objects.filter(direction="in", conversation__isnull=False).order_by("pk").first().number
    for i in range(55):
        receive_message(number=number, text=f"Balasan ke-{i + 1}: terima kasih, berkas sudah kami kirim.")
    return admin, petugas


def extra_pages(user):
    """Pages whose content depends on the object: the grant page in the states that show the most (Pencairan
    table, LPJ reminders, NPHD invitation), the Pengguna list in each state."""
    from abah.grants.models import Grant
    from abah.nphd.models import Appointment

    grants = Grant.objects.all() if user.is_admin else Grant.objects.filter(petugas=user)
    urls = []
    for status in ("LPJ_TERLAMBAT", "PENCAIRAN_TAHAP_2_SELESAI", "NPHD_DIJADWALKAN", "DITETAPKAN"):
        grant = grants.filter(status=status).order_by("pk").first()
        if grant is not None:
            urls.append(grant.get_absolute_url())
    if user.is_admin:
        urls += [reverse("accounts:user_list") + f"?state={state}" for state in ("active", "inactive")]
        # An appointment already texted: its Kirim ulang dialogs (the first one listed is still waiting).
        texted = Appointment.objects.filter(invitations__notified_at__isnull=False).order_by("pk").first()
        if texted is not None:
            urls.append(texted.get_absolute_url())
    return urls


# ---------------------------------------------------------------- the walk


LINKS = r"""
() => {
  const out = [];
  for (const el of document.querySelectorAll("a[href], [hx-get], [hx-post], form[action]")) {
    let url, how = "get";
    if (el.tagName === "FORM") {
      url = el.getAttribute("action");
      if ((el.getAttribute("method") || "get").toLowerCase() === "post") { how = "post"; }
    } else if (el.hasAttribute("hx-get") || el.hasAttribute("hx-post")) {
      url = el.getAttribute("hx-get") || el.getAttribute("hx-post");
      how = el.hasAttribute("hx-get") ? "hx" : "post";
    } else {
      url = el.getAttribute("href");
    }
    if (!url || url.startsWith("#") || url.startsWith("javascript:")) { continue; }
    const holder = el.closest("[hx-target]");
    const target = how === "hx" && holder ? holder.getAttribute("hx-target") : "";
    out.push([new URL(url, document.baseURI).href, how, target]);
  }
  return out;
}
"""


class Walk:
    def __init__(self, page, who):
        self.page = page
        self.who = who
        self.base = page.base_url
        self.seen = {}  # route -> url, or why it is not a page
        self.queue = []  # (url, host page)
        self.dialogs = {}  # route -> (url, host page)
        self.problems = []
        self.shots = 0

    def consider(self, url, how, target, host):
        if urlsplit(url).netloc != urlsplit(self.base).netloc:
            return
        route = route_of(url)
        if route is None or route in EXCLUDED or route in self.seen:
            return
        if how == "hx" and target != "#abah-modal-content":
            # A live partial swapped into its page (or a list's next page): checked as part of the host page.
            self.seen[route] = f"partial of {host.removeprefix(self.base)}"
        elif how == "hx":
            self.dialogs.setdefault(route, (url, host))
        elif not any(route_of(u) == route for u, _h in self.queue):
            self.queue.append((url, host))

    def collect(self, host):
        for url, how, target in self.page.evaluate(LINKS):
            self.consider(url.split("#")[0], how, target, host)

    def check(self, where, width, route):
        strict = route in STRICT
        for problem in self.page.evaluate(CHECK, strict):
            self.problems.append(f"{self.who} {where} at {width}px: {problem}")

    def shoot(self, route, width):
        self.shots += 1
        name = re.sub(r"[^a-z0-9]+", "-", f"layout-{self.who}-{route}-{width}".lower())
        screenshot(self.page, name)

    def open_page(self, route, url, host, extra=False):
        if not extra:
            self.seen[route] = url
        probe = self.page.request.get(url)  # the browser's cookies; follows redirects
        kind = probe.headers.get("content-type", "")
        if probe.status == 405:
            self.seen[route] = "POST only"
            return
        assert probe.status < 500, f"{self.who} {url}: {probe.status}"
        if "text/html" not in kind:
            self.seen[route] = f"not a page ({kind})"
            return
        final = route_of(probe.url)
        if final != route:  # a redirect: the page it lands on is checked under its own route
            self.seen[route] = f"redirects to {final}"
            if final and final not in self.seen and final not in EXCLUDED:
                self.queue.append((probe.url, url))
            return
        if "<html" not in probe.text().lower():  # a dialog's fragment: open it as the application does
            if host:
                self.open_dialog(route, url, host)
            else:
                self.seen[route] = "a fragment no page opens"
            return
        for width, height in SIZES:
            self.page.set_viewport_size({"width": width, "height": height})
            self.page.goto(url)
            self.page.wait_for_load_state("load")
            self.check(url.removeprefix(self.base), width, route)
            self.shoot(f"{route}-{len(self.seen)}" if extra else route, width)
        self.collect(url)

    def open_dialog(self, route, url, host):
        self.seen[route] = url
        for width, height in SIZES:
            self.page.set_viewport_size({"width": width, "height": height})
            self.page.goto(host)
            self.page.wait_for_load_state("load")
            self.page.evaluate("(url) => htmx.ajax('GET', url, {target: '#abah-modal-content', swap: 'innerHTML'})", url)
            self.page.wait_for_selector("#abah-modal.show")
            self.page.wait_for_function("() => getComputedStyle(document.getElementById('abah-modal')).opacity === '1'")
            self.check(f"dialog {url.removeprefix(self.base)} (over {host.removeprefix(self.base)})", width, route)
            self.shoot(route, width)
            if width == SIZES[-1][0]:
                self.collect(host)

    def run(self, routes):
        self.queue += [(self.base + reverse(route), "") for route in routes]
        while True:
            if self.queue:
                url, host = self.queue.pop(0)
                route = route_of(url)
                if route not in self.seen:
                    self.open_page(route, url, host)
            else:
                waiting = sorted(set(self.dialogs) - set(self.seen))
                if not waiting:
                    return self
                url, host = self.dialogs[waiting[0]]
                self.open_dialog(waiting[0], url, host)
            assert len(self.seen) < 400, "the walk does not end"


def no_arg_routes(allowed):
    return [name for name, pattern in ROUTES.items()
            if not has_args(pattern) and name not in EXCLUDED and allowed(required_role(pattern.callback))]


def _layout_pass() -> None:
    """The layout is the browser's, whatever the database: ``make test`` checks it once, in its SQLite pass (three
    minutes of CI each time). Every page is also rendered on PostgreSQL by tests/core/test_vocabulary.py (every
    page, every role) and the other browser tests. ABAH_LAYOUT_ON_POSTGRES=1 runs it there too."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")) and not os.environ.get("ABAH_LAYOUT_ON_POSTGRES"):
        pytest.skip("the layout check runs in the SQLite pass (ABAH_LAYOUT_ON_POSTGRES=1 runs it here too)")


@pytest.mark.parametrize("language", ["id", "en"])
def test_every_page_fits_a_phone_and_a_laptop(page, settings, live_server, language):
    _layout_pass()
    settings.SMS_GATEWAYS = SIMULATOR
    settings.SMS_SEND_WINDOW = ("00:00", "23:59:59")
    admin, petugas = prepare_data()
    problems, reached = [], {}

    def choose_language():  # the language cookie decides (the browser's Accept-Language does not)
        page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": page.base_url}])

    # Anonymous: the public pages (log in, register, password reset — with a real reset link).
    choose_language()
    walk = Walk(page, f"anonymous-{language}")
    uid = urlsafe_base64_encode(force_bytes(petugas.pk))
    token = default_token_generator.make_token(petugas)
    walk.queue.append((page.base_url + reverse("accounts:password_reset_confirm", args=[uid, token]), ""))
    walk.run(no_arg_routes(lambda rule: rule == "public"))
    problems += walk.problems
    reached.update(walk.seen)

    for user, allowed in ((admin, lambda rule: rule != "public"), (petugas, lambda rule: rule not in ("public", "admin"))):
        page.context.clear_cookies()
        choose_language()
        page.set_viewport_size({"width": 1366, "height": 768})
        browser_login(page, user.username, DEMO_PASSWORD)
        page.wait_for_selector("nav input[name=q]")
        assert page.get_attribute("html", "lang") == language
        walk = Walk(page, f"{user.username}-{language}")
        for url in extra_pages(user):  # several states of some pages, beyond the first object of each route
            walk.open_page(route_of(url), page.base_url + url, "", extra=True)
        walk.run(no_arg_routes(allowed))
        problems += walk.problems
        reached.update(walk.seen)
        assert walk.shots >= 10, f"{user.username}: only {walk.shots} screenshots"
        if user == admin:  # a form's target that no page links to with GET: refused for GET whatever the object
            for route in set(ROUTES) - set(reached) - set(EXCLUDED):
                if has_args(ROUTES[route]) and page.request.get(page.base_url + placeholder_path(route)).status == 405:
                    reached[route] = "POST only"

    unreached = sorted(set(ROUTES) - set(reached) - set(EXCLUDED))
    if unreached:
        problems.append("routes no page links to (add demo data that reaches them, or list them in EXCLUDED with "
                        "the reason): " + ", ".join(unreached))
    assert problems == [], f"{len(problems)} layout problems:\n" + "\n".join(problems)


def placeholder_path(route):
    """The route with made-up arguments (an id no object has)."""
    pattern = ROUTES[route].pattern
    values = {name: 999999 if type(conv).__name__ == "IntConverter" else "x"
              for name, conv in pattern.converters.items()}
    return reverse(route, kwargs=values)
