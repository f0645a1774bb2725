"""``python -m micro_cli`` is ``micro``."""

from micro_cli.main import main

main()
