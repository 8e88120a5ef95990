"""Fake AWS IAM Identity Center: SCIM 2.0 endpoint, identity store, permission sets, portal and role sessions."""
