"""The HTML report: every stage's figures and tables in one self-contained page (no network)."""
