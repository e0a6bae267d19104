"""API conventions shared by every app: the error shape, paging and strict input."""
