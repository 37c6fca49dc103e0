"""The test shop's URLs, as Cartridge's project template has them."""

from django.urls import include, path
from mezzanine.core.views import direct_to_template

urlpatterns = [
    path("shop/", include("cartridge.shop.urls")),
    path("", direct_to_template, {"template": "index.html"}, name="home"),
    path("", include("mezzanine.urls")),
]
handler404 = "mezzanine.core.views.page_not_found"
handler500 = "mezzanine.core.views.server_error"
