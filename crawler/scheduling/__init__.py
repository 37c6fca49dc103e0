"""When and where crawls run: the campaign scheduler, Redis workers and the shared frontier
they crawl from."""
