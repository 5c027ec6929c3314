"""Pure domain: no Qt, no SQL, no torch. Everything above builds on these types."""
