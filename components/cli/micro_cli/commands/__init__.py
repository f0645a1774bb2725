"""The built-in subcommands, one module per concern; each imports ``micro_core`` only when it runs."""
