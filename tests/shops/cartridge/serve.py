"""Start the test shop: `python serve.py DIR` migrates a SQLite file in DIR, fills it with
catalogue.py's products once, writes DIR/truth.json (path → what the page should give), and
serves on 127.0.0.1 on a free port, printing `serving http://127.0.0.1:PORT` when it listens.

Run with the shop's own interpreter (.venv-shop/bin/python); tests/test_real_shop.py does."""

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["LIJIAN_SHOP_DB"] = str(folder / "shop.db")
    os.environ["DJANGO_SETTINGS_MODULE"] = "settings"
    # Cartridge formats prices with the C library's locale; build zh_CN.UTF-8 where the
    # machine has none (localedef needs no root, LOCPATH points at the result).
    locales = folder / "locale"
    if not (locales / "zh_CN.UTF-8").exists():
        locales.mkdir(exist_ok=True)
        subprocess.run(["localedef", "-i", "zh_CN", "-f", "UTF-8", str(locales / "zh_CN.UTF-8")], check=True)
    os.environ["LOCPATH"] = str(locales)
    os.environ["LIJIAN_SHOP_LOCALE"] = "zh_CN.UTF-8"
    sys.path.insert(0, str(HERE))

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    truth = fill()
    (folder / "truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8")

    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):  # noqa: ANN002 - the test reads only the first line
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), Quiet)
    server.set_app(WSGIHandler())
    print(f"serving http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


def fill() -> list[dict]:
    from cartridge.shop.models import Category, Product
    from catalogue import description, products
    from mezzanine.core.models import CONTENT_STATUS_PUBLISHED

    made = products()
    if not Product.objects.exists():
        categories = {}
        for item in made:
            if item["category"] not in categories:
                categories[item["category"]] = Category.objects.create(title=item["category"],
                                                                       status=CONTENT_STATUS_PUBLISHED)
            product = Product.objects.create(title=item["title"], content=description(item),
                                             available=item["availability"] == "InStock",
                                             status=CONTENT_STATUS_PUBLISHED)
            product.categories.add(categories[item["category"]])
            product.variations.create(default=True, sku=item["sku"], unit_price=item["unit_price"],
                                      sale_price=item["sale_price"], num_in_stock=item["num_in_stock"])
            product.copy_default_variation()
        # Related products, shown with their prices on every product page (as shops do).
        for category in categories.values():
            members = list(category.products.order_by("id"))
            for n, product in enumerate(members):
                product.related_products.add(*(members[(n + step) % len(members)] for step in (1, 2, 3)))
    paths = {p.title: p.get_absolute_url() for p in Product.objects.all()}
    return [{"path": paths[item["title"]], "title": item["title"], "category": item["category"],
             "sku": item["sku"],
             "sku_shown": item["sku"] if item["code_label"] else None, "price": str(item["price"]) if item["price"] is not None else None,
             "availability": item["availability"]} for item in made]


if __name__ == "__main__":
    main(Path(sys.argv[1]))
