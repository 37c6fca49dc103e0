"""`python -m crawler.cli`: the same as the `lijian` command."""

from crawler.cli import main

main()
