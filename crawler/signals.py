"""Signals the monitor's own Scrapy components send each other through `crawler.signals`,
instead of attributes set on Scrapy's Crawler object."""

# The store pipeline lost the database: the shared frontier stops acknowledging requests, so
# what is in flight goes back to the queue for another worker.
database_lost = object()

# Which shared frontier does this crawl use? Its scheduler answers with itself (no answer: the
# crawl is not shared through Redis).
frontier_wanted = object()


def frontier_of(crawler):
    """The shared-frontier scheduler of `crawler`, or None."""
    answers = crawler.signals.send_catch_log(signal=frontier_wanted)
    return next((answer for _, answer in answers if answer is not None), None)
