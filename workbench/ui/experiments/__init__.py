"""Experiments ▸ Few-shot vs fine-tune…, Quantization lab… (dialogs and report views)."""
