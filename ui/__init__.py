"""Hotspot Atlas's Streamlit interface: pages, cached wrappers around geo, map building."""
