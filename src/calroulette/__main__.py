"""``python -m calroulette``."""

from calroulette.cli import main

main()
