"""Fake Microsoft Entra: directory, PIM for Groups over the Graph API, and the provisioning engine (SCIM client)."""
