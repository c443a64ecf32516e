"""The ticket service layer: every write to a ticket goes through here, in one transaction with its audit."""
