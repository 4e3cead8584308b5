"""Plugins shipped with core, registered through the same hooks as third-party ones."""
