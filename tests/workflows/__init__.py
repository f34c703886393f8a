"""workflows/: the shipped workflows, up to date, run through the server's API and loaded in a browser."""
