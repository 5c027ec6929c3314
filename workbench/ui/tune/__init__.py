"""The LoRA tuning wizard and its pages."""
