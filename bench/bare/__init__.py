"""The bare yardstick of `make bench`: Django with nothing but sessions (docs/performance.md)."""
