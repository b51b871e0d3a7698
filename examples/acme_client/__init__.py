"""A client for the (fictional) ACME payments and extraction API."""
