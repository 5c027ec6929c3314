"""The comparison grid and the chat: cells, variants, runs, judging, diffs and token views."""
