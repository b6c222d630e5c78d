"""Frontend: capture the user's source, fence the supported subset, normalize to the core form."""
