"""Streams: named, grouped JSON items in the database."""
