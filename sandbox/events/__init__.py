"""Event files from the shop's IoT sensors and its website, written to a lake landing prefix."""
