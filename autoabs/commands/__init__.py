"""One module per CLI subcommand: ``register(subparsers, name)`` adds it, ``args.func`` runs it."""
