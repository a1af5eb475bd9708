"""The site registry: which feeds send us messages, their trust, source type and the area they serve."""
