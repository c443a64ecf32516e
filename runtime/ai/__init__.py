"""AI triage for the desk: the offline ``local`` provider's classifier and its evaluation."""
