output "function_urls" {
  description = "Each function's HTTPS endpoint."
  value       = { for name, fn in google_cloudfunctions2_function.fn : name => fn.service_config[0].uri }
}

output "secrets_without_value" {
  description = "Optional secrets no function mounts yet: give them a value in secret_values and apply again to turn their feature on."
  value       = sort([for name in local.secret_env : name if !contains(local.provided_secrets, name)])
}

output "agent_endpoints" {
  description = "Each agent's Vertex AI endpoint (VERTEX_ENDPOINTS)."
  value       = local.agent_endpoints
}

output "training_bucket" {
  description = "Where datasets and trained models go."
  value       = google_storage_bucket.training.name
}
