"""Settings for ABAH SMS Center, read from environment variables (one module for every environment)."""

import os
import secrets
from pathlib import Path

import dj_database_url
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


# ---------------------------------------------------------------- core
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env("SECRET_KEY")
# Without SECRET_KEY in production, maintenance commands that sign nothing (makemigrations, compilemessages …)
# still run on a throwaway key; serving or working is refused: the system check core.E001 stops every
# command that runs checks (check, serve, smsd, db_worker …) and config/wsgi.py stops the web server.
SECRET_KEY_MISSING = not SECRET_KEY and not DEBUG
if not SECRET_KEY:
    SECRET_KEY = (secrets.token_urlsafe(50) if SECRET_KEY_MISSING
                  else "insecure-development-key-only-for-DEBUG-mode-never-in-production")  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_NAME = "ABAH SMS Center"

INSTALLED_APPS = [
    "abah.core",
    "abah.accounts",
    "abah.sms",
    "abah.notifications",
    "abah.verification",
    "abah.grants",
    "abah.automation",
    "abah.nphd",
    "abah.audit",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_tasks_db",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "abah.core.middleware.IndonesianByDefaultMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "abah.verification.middleware.PhoneVerificationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    "abah.audit.middleware.AuditMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "abah.core.context_processors.site",
            ],
            "builtins": ["django.templatetags.i18n", "abah.core.templatetags.abah"],
        },
    }
]

# ---------------------------------------------------------------- database
# SQLite (WAL) is the embedded default; production uses PostgreSQL through DATABASE_URL.
DATABASE_URL = env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000; "
            "PRAGMA foreign_keys=ON;"
        ),
    }
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # PostgreSQL's default random_page_cost (4.0) prices an index read as a spinning disk's seek; on an SSD or a
    # database held in memory it is about 1.1 (the value PostgreSQL's documentation suggests for SSDs). With 4.0 the
    # grant search scans every institution instead of using the trigram index: twice the time at 100,000 grants.
    # PG_RANDOM_PAGE_COST="" leaves the server's own setting.
    _page_cost = env("PG_RANDOM_PAGE_COST", "1.1").strip()
    if _page_cost:
        try:  # a typo stops the start here, in words, rather than at the first query
            float(_page_cost)
        except ValueError:
            from django.core.exceptions import ImproperlyConfigured

            raise ImproperlyConfigured(
                f"PG_RANDOM_PAGE_COST must be a number (for example 1.1), not {_page_cost!r}") from None
        DATABASES["default"].setdefault("OPTIONS", {})["options"] = f"-c random_page_cost={_page_cost}"
if env("TEST_DATABASE_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ---------------------------------------------------------------- auth
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"

# django-axes: lock a username+IP pair after repeated failures.
AXES_FAILURE_LIMIT = int(env("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(env("AXES_COOLOFF_HOURS", "0.25"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_IPWARE_PROXY_COUNT = int(env("AXES_PROXY_COUNT", "0"))

# ---------------------------------------------------------------- i18n
LANGUAGE_CODE = "id"
LANGUAGES = [("id", _("Indonesian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Jakarta"
USE_I18N = True
USE_TZ = True
LANGUAGE_COOKIE_NAME = "abah_language"

# ---------------------------------------------------------------- static and media
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
# Import files between preview and confirmation (removed after confirm, cancel or a day): this instance's own folder.
IMPORT_STAGING_DIR = Path(env("IMPORT_STAGING_DIR", str(BASE_DIR / "var" / "import-staging")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
AVATAR_MAX_BYTES = 2 * 1024 * 1024
AVATAR_SIZE = 256
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# ---------------------------------------------------------------- e-mail
# Django 6.1 mailers. Without EMAIL_HOST the development console backend prints e-mails.
if env("EMAIL_HOST"):
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": env("EMAIL_HOST"),
                "port": int(env("EMAIL_PORT", "25")),
                "username": env("EMAIL_HOST_USER") or None,
                "password": env("EMAIL_HOST_PASSWORD") or None,
                "use_tls": env_bool("EMAIL_USE_TLS"),
                "use_ssl": env_bool("EMAIL_USE_SSL"),
                "timeout": int(env("EMAIL_TIMEOUT", "20")),
            },
        }
    }
else:
    MAILERS = {"default": {"BACKEND": env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")}}
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "ABAH SMS Center <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# ---------------------------------------------------------------- background tasks
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

# ---------------------------------------------------------------- security
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 10
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Content-Security-Policy (Django's own middleware): scripts, styles, images and fonts from this site only; an
# inline <script>/<style> needs the request's nonce ({{ csp_nonce }}); no inline event handlers, no style=""
# attributes, no eval (htmx runs with allowEval off, see base.html). data: images are Bootstrap's SVG icons.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY") else None

# ---------------------------------------------------------------- the bureau's SMS texts (optional overrides)
# SMS gateways and routes: SMS_GATEWAYS / SMS_ROUTES as JSON environment variables (docs/gateways.md).
if env("ABAH_SMS_INFO_PHONE"):
    ABAH_SMS_INFO_PHONE = env("ABAH_SMS_INFO_PHONE")  # {telp} in the texts: the bureau's information line
if env("ABAH_SMS_MONEY_LEGACY"):
    ABAH_SMS_MONEY_LEGACY = env_bool("ABAH_SMS_MONEY_LEGACY")  # "Rp. 400.000.000,00" instead of "Rp400.000.000,00"
if env("ABAH_SMS_REPORT_EXPIRY_HOURS"):
    SMS_REPORT_EXPIRY_HOURS = float(env("ABAH_SMS_REPORT_EXPIRY_HOURS"))  # 48: a text with no receipt is "no report"
if env("ABAH_NPHD_TIME"):
    ABAH_NPHD_TIME = env("ABAH_NPHD_TIME")  # "09:00": default time of an NPHD signing
if env("ABAH_NPHD_PLACE"):
    ABAH_NPHD_PLACE = env("ABAH_NPHD_PLACE")
if env("ABAH_LPJ_REMINDER_DAYS"):
    ABAH_LPJ_REMINDER_DAYS = [int(d) for d in env_list("ABAH_LPJ_REMINDER_DAYS")]  # "30,7,1": H-30, H-7, H-1
if env("ABAH_LPJ_OVERDUE_EVERY_DAYS"):
    ABAH_LPJ_OVERDUE_EVERY_DAYS = int(env("ABAH_LPJ_OVERDUE_EVERY_DAYS"))  # 7: weekly once overdue

# ---------------------------------------------------------------- audit log and retention (abah.audit)
BEHIND_PROXY = env_bool("BEHIND_PROXY")  # behind nginx/Apache: the client's address is X-Forwarded-For's last entry
ABAH_RETENTION_MESSAGE_YEARS = int(env("ABAH_RETENTION_MESSAGE_YEARS", "5"))  # SMS texts removed, numbers masked
ABAH_RETENTION_AUDIT_YEARS = int(env("ABAH_RETENTION_AUDIT_YEARS", "5"))  # audit entries deleted
ABAH_RETENTION_NOTIFICATION_DAYS = int(env("ABAH_RETENTION_NOTIFICATION_DAYS", "365"))  # notifications deleted
ABAH_RETENTION_CODE_DAYS = int(env("ABAH_RETENTION_CODE_DAYS", "30"))  # phone verification codes deleted

# ---------------------------------------------------------------- logging
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}, "django.server": {"level": "WARNING"}},
}
