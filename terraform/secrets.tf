# Secrets: one Secret Manager secret per name in triggers.json, and a version for each value
# given in var.secret_values (sensitive: a terraform.tfvars.json kept out of git, or
# TF_VAR_secret_values). Functions mount the version created here, so a first apply never
# starts a revision on a secret without one; apply refuses, naming them, when a secret the
# deployment cannot run without has no value.

locals {
  provided_secrets = toset(nonsensitive(keys(var.secret_values)))
  # REQUIRED_SECRETS of triggers/manifest.ts; a live venue needs keys too.
  required_secrets = concat(
    local.manifest.requiredSecrets,
    var.enable_paper_trading ? [] : (contains(local.provided_secrets, "EXCHANGE_ACCOUNTS") ? [] : ["EXCHANGE_API_KEY", "EXCHANGE_API_SECRET"]),
  )
  missing_secrets = sort(tolist(setsubtract(toset(local.required_secrets), local.provided_secrets)))
}

resource "google_secret_manager_secret" "env" {
  for_each  = local.secret_env
  project   = var.project_id
  secret_id = lower(replace("sapphire-${each.value}", "_", "-"))
  replication {
    auto {}
  }
  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_version" "env" {
  for_each    = local.provided_secrets
  secret      = google_secret_manager_secret.env[each.value].id
  secret_data = var.secret_values[each.value]
}
