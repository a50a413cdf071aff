"""`make bench`: the shop's pages under load, as a share of Django's own ceiling.

See docs/performance.md for what it measures, the latest figures and how to rerun it.
"""
