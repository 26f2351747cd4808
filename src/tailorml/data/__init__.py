"""Data in: read files, check them, version them, split them, synthesize more."""
