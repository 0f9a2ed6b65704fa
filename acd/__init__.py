"""Automatic call distribution: the pure routing core (no I/O, no asyncio)."""
