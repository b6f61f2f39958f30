"""calroulette: a weekly coffee roulette where each member's own calendar is the database."""

__version__ = "0.1.0"
