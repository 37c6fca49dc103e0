# Two commands on a fresh machine:  make demo  |  make test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test setup test-shop chromium cjk-fonts clean

demo: setup
	$(BIN)/lijian demo

# Two streams side by side, then one test alone. They share no database, port or Redis key.
#  - the suite on SQLite, but for the tests that pick their own backends (below);
#  - every test that uses a database again on PostgreSQL (LIJIAN_TEST_POSTGRES, default
#    postgres@127.0.0.1:5432/test), with test_scale_out.py and test_distributed.py, which use
#    PostgreSQL and Redis themselves; its output is kept in $(PG_LOG) and shown after;
#  - then the tests marked exclusive (the 20,000-listing crawl), which need both cores.
# Any failure (pytest's exit 5, no tests, too) fails the target.
PG_LOG := .pytest-postgresql.log
test: setup test-shop
	@LIJIAN_TEST_BACKEND=postgresql $(BIN)/python -m pytest -p no:cacheprovider -m "not exclusive" >$(PG_LOG) 2>&1 & pg=$$!; \
	$(BIN)/python -m pytest --ignore=tests/test_distributed.py --ignore=tests/test_scale_out.py; sqlite=$$?; \
	wait $$pg; postgres=$$?; \
	echo "==== PostgreSQL pass (LIJIAN_TEST_BACKEND=postgresql), from $(PG_LOG):"; cat $(PG_LOG); \
	echo "==== SQLite pass: exit $$sqlite; PostgreSQL pass: exit $$postgres"; \
	[ $$sqlite -eq 0 ] && [ $$postgres -eq 0 ]
	$(BIN)/python -m pytest -m exclusive

setup: $(STAMP) chromium cjk-fonts

# The real shop the shop-crawl tests run against (tests/test_real_shop.py): Cartridge with its
# own Django in a venv of its own, apart from the project's packages.
SHOP_VENV := .venv-shop
SHOP_STAMP := $(SHOP_VENV)/.installed-stamp
test-shop: $(SHOP_STAMP)

$(SHOP_STAMP): tests/shops/cartridge/requirements.txt
	$(PYTHON) -m venv $(SHOP_VENV)
	$(SHOP_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SHOP_VENV)/bin/python -m pip install --quiet -r tests/shops/cartridge/requirements.txt
	touch $(SHOP_STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,postgres]'
	touch $(STAMP)

# The system Chromium when there is one; on Debian as root, install it; elsewhere Playwright's own.
chromium: $(STAMP)
	@if [ -n "$$LIJIAN_CHROMIUM" ] && [ -x "$$LIJIAN_CHROMIUM" ]; then \
	    echo "Chromium: $$LIJIAN_CHROMIUM"; \
	elif [ -x /usr/bin/chromium ]; then \
	    echo "Chromium: /usr/bin/chromium"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
	    $(BIN)/python -m playwright install chromium; \
	fi

# Headless screenshots of Chinese pages need a CJK font, or every character is a blank box.
cjk-fonts:
	@if command -v fc-list >/dev/null 2>&1 && [ -n "$$(fc-list :lang=zh 2>/dev/null)" ]; then \
	    true; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk >/dev/null; \
	else \
	    echo "note: no CJK font found; screenshots of Chinese pages will show blank boxes"; \
	fi

clean:
	rm -rf $(VENV) $(SHOP_VENV) out lijian.db lijian.db-wal lijian.db-shm *.egg-info $(PG_LOG)
