"""The synthetic shop: its MySQL schema, generator, bulk seed and production simulator."""
