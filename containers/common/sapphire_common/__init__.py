"""Code shared by Sapphire's training and serving images.

- ``artifacts``: the model directory layout the trainer writes and the servers read.
- ``forecasting``: prices to log-returns to sample paths to price quantiles (trainer and server).
- ``chat_format``: how a chat becomes prompt tokens (trainer and LLM server).
- ``serving_env``, ``vertex_http``, ``storage``: Vertex AI's custom-container contract.

Importing this package imports nothing heavy; each module imports what it needs.
"""
