"""The llama.cpp model host: a child process that owns one model (docs/architecture.md, The model host)."""
