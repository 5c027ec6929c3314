"""Composing a prompt: system prompt, examples, template, cases, the text and tokens the model receives."""
