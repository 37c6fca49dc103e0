"""Spiders (Scrapy's SPIDER_MODULES) and their site definitions."""
