"""One module per `sovereign` subcommand: `add_parser(subparsers)` sets `run(args) -> exit code`."""
