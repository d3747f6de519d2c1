"""Pure domain of Limber: vetted templates, plan assembly, safety rules and dose words."""
