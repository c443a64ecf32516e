"""Who may use the desk: agents' passwords and the API tokens that scripts and integrations present."""
