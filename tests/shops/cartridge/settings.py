"""Settings of the test shop: Cartridge as its project template sets it up, on a SQLite file
named by LIJIAN_SHOP_DB, English, prices in yuan, related products shown on product pages
(more prices on a product page, as real shops have)."""

import os

from django.utils.translation import gettext_lazy as _

ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
DEBUG = False
SECRET_KEY = "test-shop-only"
NEVERCACHE_KEY = "test-shop-only"
TIME_ZONE = "UTC"
USE_TZ = True
LANGUAGE_CODE = "en"
LANGUAGES = (("en", _("English")),)
USE_I18N = False
USE_MODELTRANSLATION = False
SITE_ID = 1
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTHENTICATION_BACKENDS = ("mezzanine.core.auth_backends.MezzanineBackend",)
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["LIJIAN_SHOP_DB"]}}
PROJECT_ROOT = BASE_DIR = os.path.dirname(os.environ["LIJIAN_SHOP_DB"])
STATIC_URL = "/static/"
STATIC_ROOT = os.path.join(PROJECT_ROOT, "static")
MEDIA_URL = "/media/"
MEDIA_ROOT = os.path.join(PROJECT_ROOT, "media")
ROOT_URLCONF = "urls"
SHOP_CURRENCY_LOCALE = os.environ.get("LIJIAN_SHOP_LOCALE", "C.UTF-8")
SHOP_USE_RELATED_PRODUCTS = True
SHOP_USE_RATINGS = True
SHOP_USE_WISHLIST = True
SHOP_PER_PAGE_CATEGORY = 8
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [],
    "OPTIONS": {
        "context_processors": [
            "django.contrib.auth.context_processors.auth",
            "django.contrib.messages.context_processors.messages",
            "django.template.context_processors.debug",
            "django.template.context_processors.i18n",
            "django.template.context_processors.static",
            "django.template.context_processors.media",
            "django.template.context_processors.request",
            "django.template.context_processors.tz",
            "mezzanine.conf.context_processors.settings",
            "mezzanine.pages.context_processors.page",
        ],
        "loaders": [
            "mezzanine.template.loaders.host_themes.Loader",
            "django.template.loaders.filesystem.Loader",
            "django.template.loaders.app_directories.Loader",
        ],
    },
}]
INSTALLED_APPS = (
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.redirects",
    "django.contrib.sessions",
    "django.contrib.sites",
    "django.contrib.sitemaps",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "mezzanine.boot",
    "mezzanine.conf",
    "mezzanine.core",
    "mezzanine.generic",
    "mezzanine.pages",
    "cartridge.shop",
    "mezzanine.blog",
    "mezzanine.forms",
    "mezzanine.galleries",
)
MIDDLEWARE = (
    "mezzanine.core.middleware.UpdateCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "cartridge.shop.middleware.ShopMiddleware",
    "mezzanine.core.request.CurrentRequestMiddleware",
    "mezzanine.core.middleware.RedirectFallbackMiddleware",
    "mezzanine.core.middleware.SitePermissionMiddleware",
    "mezzanine.pages.middleware.PageMiddleware",
    "mezzanine.core.middleware.FetchFromCacheMiddleware",
)
PACKAGE_NAME_FILEBROWSER = "filebrowser_safe"
PACKAGE_NAME_GRAPPELLI = "grappelli_safe"
OPTIONAL_APPS = (PACKAGE_NAME_FILEBROWSER, PACKAGE_NAME_GRAPPELLI)

from mezzanine.utils.conf import set_dynamic_settings  # noqa: E402 - Mezzanine's own last step

set_dynamic_settings(globals())
