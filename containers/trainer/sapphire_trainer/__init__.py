"""Sapphire's Vertex AI training image: LoRA fine-tuning of LLM agents, Lag-Llama fine-tuning of
the forecaster agent (python -m sapphire_trainer --help)."""
