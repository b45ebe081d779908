variable "project_id" {
  description = "Google Cloud project Sapphire runs in."
  type        = string
}

variable "region" {
  description = "Region of the functions, Pub/Sub push endpoints and Cloud Scheduler jobs. The venue must answer from it: Binance refuses US regions (HTTP 451); Tokyo is where its traders colocate."
  type        = string
  default     = "asia-northeast1"
}

variable "firestore_location" {
  description = "Firestore database location."
  type        = string
  default     = "asia-northeast1"
}

variable "dist_dir" {
  description = "Where `npm run build` left the function zips (<name>-<hash>.zip)."
  type        = string
  default     = "../dist"
}

variable "enable_paper_trading" {
  description = "ENABLE_PAPER_TRADING: orders go to the paper exchange."
  type        = bool
  default     = true
}

variable "enable_vertex_ai" {
  description = "ENABLE_VERTEX_AI: agents call their Vertex AI endpoints."
  type        = bool
  default     = false
}

variable "vertex_endpoints" {
  description = "Vertex AI endpoint resource name per agent id (VERTEX_ENDPOINTS)."
  type        = map(string)
  default     = {}
}

variable "agent_ids" {
  description = "Agents that get their own agent-inference Cloud Scheduler job."
  type        = list(string)
  default     = ["deepseek-v3", "qwen-7b", "fingpt-alpha", "lagllama-degen"]
}

variable "agent_schedule" {
  description = "Cron of each agent's inference tick (UTC)."
  type        = string
  default     = "*/5 * * * *"
}

variable "extra_env" {
  description = "More plain (non-secret) environment variables for every function."
  type        = map(string)
  default     = {}
}

variable "alert_notification_email" {
  description = "Optional e-mail for Cloud Monitoring's own notifications, besides Sapphire's Pub/Sub channel."
  type        = string
  default     = ""
}

variable "training_region" {
  description = "Region of training jobs, models, endpoints, the image registry and the training bucket (A100s: europe-west4, us-central1, …)."
  type        = string
  default     = "europe-west4"
}

variable "image_tag" {
  description = "Tag of the trainer and serving images to use (containers/cloudbuild.yaml tags them by commit)."
  type        = string
  default     = "latest"
}

variable "secret_values" {
  description = "Secret values by environment variable (SIGNAL_INTAKE_TOKENS, OPS_API_TOKENS, …; see triggers.json `secrets`). Kept out of git: terraform.tfvars.json or TF_VAR_secret_values."
  type        = map(string)
  sensitive   = true
  default     = {}
  validation {
    condition     = alltrue([for name in nonsensitive(keys(var.secret_values)) : contains(local.manifest.secrets, name)]) && alltrue([for value in values(var.secret_values) : length(value) > 0])
    error_message = "secret_values takes only the secret names of triggers.json, each with a non-empty value."
  }
}

variable "public_invoker_members" {
  description = "Who may invoke the functions with HTTP routes (they authenticate callers themselves). allUsers by default; where an organisation restricts IAM members to its domain, e.g. [\"domain:example.com\"] or a gateway's service account, or [] to grant nobody."
  type        = list(string)
  default     = ["allUsers"]
}
