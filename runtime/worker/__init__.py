"""The background process: claims due jobs and runs them."""
