"""Clinician accounts: argon2id passwords, server-side sessions, CSRF and the sign-in limit."""
