"""Scrapy extensions of the monitor."""
