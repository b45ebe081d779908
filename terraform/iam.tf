# Least privilege: one service account per function, holding only what its `needs` in
# triggers/manifest.ts name (firestore, topics it publishes to, secrets it mounts, Vertex AI,
# training, metrics), plus writing its own logs. Nothing here is written twice: the grants are
# derived from triggers.json, and test/unit/terraform.test.ts checks no account holds more.

locals {
  needs = { for f in local.manifest.functions : f.name => f.needs }

  # projectRolesFor() in triggers/manifest.ts turns needs into project roles.
  function_project_roles = merge([for f in local.manifest.functions : { for role in f.projectRoles : "${f.name}/${role}" => { function = f.name, role = role } }]...)
  function_topics        = merge([for name, needs in local.needs : { for topic in needs.publishes : "${name}/${topic}" => { function = name, topic = topic } }]...)
  function_secrets       = merge([for name, needs in local.needs : { for secret in needs.secrets : "${name}/${secret}" => { function = name, secret = secret } if contains(local.provided_secrets, secret) }]...)
  training_functions     = toset([for name, needs in local.needs : name if needs.training])
  mounted_secrets        = { for name, needs in local.needs : name => toset([for secret in needs.secrets : secret if contains(local.provided_secrets, secret)]) }
}

resource "google_service_account" "fn" {
  for_each     = local.functions
  project      = var.project_id
  account_id   = "sapphire-${each.key}"
  display_name = "Sapphire ${each.key}"
  depends_on   = [google_project_service.apis]
}

resource "google_project_iam_member" "fn" {
  for_each = local.function_project_roles
  project  = var.project_id
  role     = each.value.role
  member   = "serviceAccount:${google_service_account.fn[each.value.function].email}"
}

resource "google_pubsub_topic_iam_member" "fn" {
  for_each = local.function_topics
  topic    = google_pubsub_topic.topic[each.value.topic].id
  role     = "roles/pubsub.publisher"
  member   = "serviceAccount:${google_service_account.fn[each.value.function].email}"
}

resource "google_secret_manager_secret_iam_member" "fn" {
  for_each  = local.function_secrets
  secret_id = google_secret_manager_secret.env[each.value.secret].id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.fn[each.value.function].email}"
}

# Pub/Sub push and Cloud Scheduler sign their OIDC tokens as this account.
resource "google_service_account" "invoker" {
  project      = var.project_id
  account_id   = "sapphire-invoker"
  display_name = "Pub/Sub push and Cloud Scheduler calls to Sapphire functions (OIDC)"
  depends_on   = [google_project_service.apis]
}

# Cloud Build builds the functions as this account, not the Compute Engine default one.
resource "google_service_account" "build" {
  project      = var.project_id
  account_id   = "sapphire-build"
  display_name = "Sapphire function builds"
  depends_on   = [google_project_service.apis]
}

resource "google_project_iam_member" "build" {
  for_each = toset([
    "roles/cloudbuild.builds.builder",
    "roles/logging.logWriter",
    "roles/artifactregistry.writer",
    "roles/storage.objectViewer",
  ])
  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.build.email}"
}
