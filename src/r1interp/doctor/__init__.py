"""Environment check before a long run: what will and will not work, and how to fix it."""
