"""Hotspot Atlas library: incident pipeline and analysis, with no Streamlit in it."""
