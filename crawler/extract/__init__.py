"""Extraction from saved or crawled pages: the same code serves spiders and `lijian extract`."""
