"""The local e-commerce REST API (DummyJSON contract) over the synthetic shop's world."""
