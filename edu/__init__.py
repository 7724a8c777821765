"""Qingkong's project package and core: settings, URLs, ASGI, users, regions, schools and classes."""
