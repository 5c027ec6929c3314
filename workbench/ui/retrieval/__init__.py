"""The Documents tab: document sets, their files and chunks, a search to try."""
