"""Local stand-ins for the outside world: private servers, the synthetic shop, its REST API."""
