"""The organizer's mailbox at the edge: iTIP REPLY messages read over IMAP (TLS, verified),
flagged once handled, never deleted. Filled in by the replies work (issue 18)."""
