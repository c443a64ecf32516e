"""The desk's pages, rendered on the server from the compiled definitions: the agent console, the requester
portal, the generated forms, the supervisor dashboard and the admin view."""
