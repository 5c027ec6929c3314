"""Model runtimes behind one protocol. llama.cpp runs in a child process (``engine.host``)."""
