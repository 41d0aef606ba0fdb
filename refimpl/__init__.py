"""refimpl package."""
