"""What runs against real systems: the dlt sources (MySQL CDC, e-commerce API), destinations."""
