"""lakeshop: MySQL CDC and e-commerce API ingestion for an online shop's analytics."""

__version__ = "0.1.0"
