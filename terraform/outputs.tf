output "function_urls" {
  description = "Each function's HTTPS endpoint."
  value       = { for name, fn in google_cloudfunctions2_function.fn : name => fn.service_config[0].uri }
}

output "secrets_to_fill" {
  description = "Secret Manager secrets to give a value (gcloud secrets versions add …) before trading."
  value       = [for s in google_secret_manager_secret.env : s.secret_id]
}

output "agent_endpoints" {
  description = "Each agent's Vertex AI endpoint (VERTEX_ENDPOINTS)."
  value       = local.agent_endpoints
}

output "training_bucket" {
  description = "Where datasets and trained models go."
  value       = google_storage_bucket.training.name
}
