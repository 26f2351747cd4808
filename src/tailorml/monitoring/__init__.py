"""Watching production: drift and decay signals over windows of logged traffic."""
