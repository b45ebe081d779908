"""Sapphire's LLM agent server for Vertex AI (python -m sapphire_llm_serving)."""
