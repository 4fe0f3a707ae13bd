"""Examples copied into each lab project's ``work/`` directory."""
