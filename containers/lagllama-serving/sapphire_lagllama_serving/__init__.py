"""Sapphire's Lag-Llama forecaster server for Vertex AI (python -m sapphire_lagllama_serving)."""
