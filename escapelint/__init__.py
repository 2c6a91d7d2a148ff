"""escapelint: verdicts from the Go compiler's escape-analysis diagnostics."""

__version__ = "0.1.0"
