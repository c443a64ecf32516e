"""Sample data for the demo desk."""
