"""The pack as shipped: packaging metadata, the README's promises and its first command (scripts/run_main.sh)."""
