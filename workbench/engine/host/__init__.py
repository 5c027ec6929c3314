"""The llama.cpp model host: a child process that owns one model (see DESIGN.md, Processes)."""
