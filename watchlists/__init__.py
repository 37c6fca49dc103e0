"""Watchlists: brands, certificates, risk lexicon, number formats and the category table.

The files in a watchlist folder are the source of truth; `load_watchlists(folder)` validates
them and returns in-memory indexes plus a content hash that every stored flag records.
"""

from watchlists.checks import check_folder, load_watchlists
from watchlists.loader import BUNDLED, Problem, WatchlistError, Watchlists, name_key, read_categories
from watchlists.schema import Brand, Category, Certificate, LegitimateContext, Product, RiskTerm

__all__ = [
    "BUNDLED", "Brand", "Category", "Certificate", "LegitimateContext", "Problem", "Product", "RiskTerm",
    "WatchlistError", "Watchlists", "check_folder", "load_watchlists", "name_key", "read_categories",
]
