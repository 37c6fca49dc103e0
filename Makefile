# Two commands on a fresh machine:  make demo  |  make test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test setup chromium cjk-fonts clean

demo: setup
	$(BIN)/lijian demo

# Two passes: everything on SQLite, then every test that uses a database again on PostgreSQL
# (LIJIAN_TEST_POSTGRES, default postgres@127.0.0.1:5432/test).
test: setup
	$(BIN)/python -m pytest
	LIJIAN_TEST_BACKEND=postgresql $(BIN)/python -m pytest

setup: $(STAMP) chromium cjk-fonts

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
	rm -rf $(VENV) out lijian.db lijian.db-wal lijian.db-shm *.egg-info
