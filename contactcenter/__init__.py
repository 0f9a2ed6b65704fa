"""Contact-center server: Asterisk integration, ACD, IVR, dialer, agent desktop and reports."""

__version__ = "0.1.0"
