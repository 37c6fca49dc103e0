"""The use cases both faces call: plan and run a crawl, match snapshots into suspects, triage
and sampling decisions. No click, no HTTP: typed inputs in, results out."""
