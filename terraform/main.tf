# Sapphire on Google Cloud. Everything a function needs is derived from triggers.json, which
# `npm run build` writes from triggers/manifest.ts: topics, push subscriptions (OIDC, retry,
# dead letters), Cloud Scheduler jobs and the functions themselves.

locals {
  manifest  = jsondecode(file("${path.module}/triggers.json"))
  functions = { for f in local.manifest.functions : f.name => f }

  push_triggers = merge([
    for f in local.manifest.functions : {
      for t in f.triggers : t.subscription => merge(t, { function = f.name }) if t.kind == "pubsub-push"
    }
  ]...)
  # One Cloud Scheduler job per schedule, keyed "<function>" or "<function>-<name>"; per-agent
  # schedules are expanded below, one job per agent, staggered.
  schedule_triggers = merge([
    for f in local.manifest.functions : {
      for t in f.triggers : (lookup(t, "name", null) == null ? f.name : "${f.name}-${t.name}") => merge(t, { function = f.name })
      if t.kind == "schedule" && lookup(t, "perAgent", null) == null
    }
  ]...)
  per_agent_schedules = merge(flatten([
    for f in local.manifest.functions : [
      for t in f.triggers : {
        for i, agent in var.agent_ids : "${f.name}-${agent}" => {
          function               = f.name
          agent                  = agent
          attemptDeadlineSeconds = t.attemptDeadlineSeconds
          # staggeredCron in triggers/manifest.ts: the i-th agent runs staggerMinutes·i later.
          schedule = join(" ", concat([
            tostring((tonumber(split(" ", t.schedule)[0]) + tonumber(split(" ", t.schedule)[1]) * 60 + i * t.perAgent.staggerMinutes) % 60),
            tostring(floor((tonumber(split(" ", t.schedule)[0]) + tonumber(split(" ", t.schedule)[1]) * 60 + i * t.perAgent.staggerMinutes) / 60) % 24),
          ], slice(split(" ", t.schedule), 2, 5)))
        }
      } if t.kind == "schedule" && lookup(t, "perAgent", null) != null
    ]
  ])...)
  # agent-inference has its own per-agent jobs below (var.agent_schedule).
  scheduled_jobs = merge(
    { for name, t in local.schedule_triggers : name => { function = t.function, schedule = t.schedule, attemptDeadlineSeconds = t.attemptDeadlineSeconds, body = jsonencode(lookup(t, "body", {})) } if name != "agent-inference" },
    { for name, t in local.per_agent_schedules : name => { function = t.function, schedule = t.schedule, attemptDeadlineSeconds = t.attemptDeadlineSeconds, body = jsonencode({ agentId = t.agent }) } },
  )
  # Functions reachable from outside authenticate callers themselves (bearer tokens, HMAC,
  # body secrets); the rest only accept Pub/Sub and Cloud Scheduler with OIDC.
  public_functions = toset([for f in local.manifest.functions : f.name if contains([for t in f.triggers : t.kind], "http")])

  # Secrets live in Secret Manager (secrets.tf); each function mounts those its needs name.
  secret_env = toset(local.manifest.secrets)

  plain_env = merge({
    GOOGLE_CLOUD_PROJECT = var.project_id
    # Express's own error pages (a body that is not JSON) then carry no stack trace or file paths.
    NODE_ENV             = "production"
    ENABLE_PAPER_TRADING = tostring(var.enable_paper_trading)
    ENABLE_VERTEX_AI     = tostring(var.enable_vertex_ai)
    VERTEX_LOCATION      = var.training_region
    VERTEX_ENDPOINTS     = jsonencode(local.agent_endpoints)
    # The evaluator writes the metrics the alert policies in monitoring.tf watch.
    ENABLE_CLOUD_MONITORING = "true"
    # Push and scheduled functions accept only OIDC tokens of this account, for their own URL.
    INVOKER_SERVICE_ACCOUNT = google_service_account.invoker.email
  }, local.training_env, var.extra_env)

  zips = { for name, _ in local.functions : name => one(fileset(var.dist_dir, "${name}-*.zip")) }
}

# Every API the configuration uses, enabled first: everything else waits on this (a test checks
# that each resource does, directly or through what it references).
resource "google_project_service" "apis" {
  for_each = toset([
    "cloudresourcemanager.googleapis.com",
    "iam.googleapis.com",
    "compute.googleapis.com",
    "serviceusage.googleapis.com",
    "storage.googleapis.com",
    "cloudfunctions.googleapis.com",
    "run.googleapis.com",
    "cloudbuild.googleapis.com",
    "artifactregistry.googleapis.com",
    "pubsub.googleapis.com",
    "firestore.googleapis.com",
    "cloudscheduler.googleapis.com",
    "secretmanager.googleapis.com",
    "aiplatform.googleapis.com",
    "monitoring.googleapis.com",
    "logging.googleapis.com",
  ])
  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

resource "google_firestore_database" "default" {
  name        = "(default)"
  location_id = var.firestore_location
  type        = "FIRESTORE_NATIVE"
  depends_on  = [google_project_service.apis]
}

# The reconciler's query: reservations still `reserved`, decided before a cutoff.
resource "google_firestore_index" "stale_reservations" {
  collection = "reservations"
  fields {
    field_path = "status"
    order      = "ASCENDING"
  }
  fields {
    field_path = "decidedAt"
    order      = "ASCENDING"
  }
  depends_on = [google_firestore_database.default]
}

resource "google_storage_bucket" "sources" {
  name                        = "${var.project_id}-sapphire-sources"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  depends_on                  = [google_project_service.apis]
}

resource "google_storage_bucket_object" "source" {
  for_each = local.zips
  # The content hash in the zip's name makes a new object, and a new revision, per change.
  name   = each.value
  bucket = google_storage_bucket.sources.name
  source = "${var.dist_dir}/${each.value}"
}

resource "google_pubsub_topic" "topic" {
  for_each   = toset(local.manifest.topics)
  name       = each.value
  depends_on = [google_project_service.apis]
}

resource "google_cloudfunctions2_function" "fn" {
  for_each = local.functions
  name     = each.key
  location = var.region

  build_config {
    runtime     = "nodejs20"
    entry_point = each.value.entryPoint
    # Projects made since mid-2024 would build as the Compute Engine default account, which
    # lacks the builder role: builds run as an account of their own (iam.tf).
    service_account = google_service_account.build.id
    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.source[each.key].name
      }
    }
  }

  service_config {
    available_memory                 = "${each.value.memoryMb}M"
    available_cpu                    = tostring(each.value.cpu)
    max_instance_request_concurrency = each.value.concurrency
    min_instance_count               = each.value.minInstances
    timeout_seconds                  = each.value.timeoutSeconds
    max_instance_count               = each.value.maxInstances
    service_account_email            = google_service_account.fn[each.key].email
    environment_variables            = local.plain_env
    ingress_settings                 = "ALLOW_ALL"

    # Only the secrets this function's needs name and the deployment has a value for, each at
    # the version created in this apply (secrets.tf), never a "latest" that may not exist yet.
    dynamic "secret_environment_variables" {
      for_each = local.mounted_secrets[each.key]
      content {
        key        = secret_environment_variables.value
        project_id = var.project_id
        secret     = google_secret_manager_secret.env[secret_environment_variables.value].secret_id
        version    = google_secret_manager_secret_version.env[secret_environment_variables.value].version
      }
    }
  }

  lifecycle {
    precondition {
      condition     = length(local.missing_secrets) == 0
      error_message = "No value for the secrets ${join(", ", local.missing_secrets)}: give them in secret_values (a sensitive variable, e.g. terraform.tfvars.json kept out of git; see README \"Deploy\")."
    }
  }

  depends_on = [google_project_iam_member.fn, google_secret_manager_secret_iam_member.fn, google_pubsub_topic_iam_member.fn, google_project_iam_member.build]
}

# Functions with an HTTP route authenticate their callers themselves; who may reach them at all
# is public_invoker_members (allUsers by default; an organisation that restricts IAM members
# to its domain names a group, a domain or its gateway's account instead, or none).
resource "google_cloud_run_service_iam_member" "public" {
  for_each = { for pair in setproduct(local.public_functions, var.public_invoker_members) : "${pair[0]}/${pair[1]}" => { function = pair[0], member = pair[1] } }
  location = var.region
  service  = google_cloudfunctions2_function.fn[each.value.function].name
  role     = "roles/run.invoker"
  member   = each.value.member
}

resource "google_cloud_run_service_iam_member" "invoker" {
  for_each = local.functions
  location = var.region
  service  = google_cloudfunctions2_function.fn[each.key].name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.invoker.email}"
}

# Pub/Sub signs push requests as the invoker account and forwards dead letters itself.
resource "google_service_account_iam_member" "pubsub_token_creator" {
  service_account_id = google_service_account.invoker.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_agent
  # The Pub/Sub service agent exists once the API is on and the project has a topic.
  depends_on = [google_project_service.apis, google_pubsub_topic.topic]
}

resource "google_pubsub_subscription" "push" {
  for_each             = local.push_triggers
  name                 = each.key
  topic                = google_pubsub_topic.topic[each.value.topic].id
  ack_deadline_seconds = each.value.ackDeadlineSeconds

  push_config {
    push_endpoint = "${google_cloudfunctions2_function.fn[each.value.function].service_config[0].uri}${try(each.value.pushPath, "/")}"
    oidc_token {
      service_account_email = google_service_account.invoker.email
      audience              = google_cloudfunctions2_function.fn[each.value.function].service_config[0].uri
    }
  }

  retry_policy {
    minimum_backoff = "${each.value.retry.minimumBackoffSeconds}s"
    maximum_backoff = "${each.value.retry.maximumBackoffSeconds}s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.topic[each.value.deadLetter.topic].id
    max_delivery_attempts = each.value.deadLetter.maxDeliveryAttempts
  }

  # Never deleted for inactivity (Pub/Sub's default is 31 days), however quiet a topic gets.
  expiration_policy {
    ttl = ""
  }
}

resource "google_pubsub_subscription" "holding" {
  for_each                   = { for h in local.manifest.holdingSubscriptions : h.subscription => h }
  name                       = each.key
  topic                      = google_pubsub_topic.topic[each.value.topic].id
  message_retention_duration = "604800s"

  # Nobody pulls these: without this Pub/Sub would delete them, and the dead letters they hold,
  # after 31 days without activity.
  expiration_policy {
    ttl = ""
  }
}

resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  for_each   = toset([for s in local.push_triggers : s.deadLetter.topic])
  topic      = google_pubsub_topic.topic[each.value].id
  role       = "roles/pubsub.publisher"
  member     = local.pubsub_agent
  depends_on = [google_project_service.apis]
}

resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber" {
  for_each     = google_pubsub_subscription.push
  subscription = each.value.id
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
  depends_on   = [google_project_service.apis]
}

# Every scheduled job of the manifest: one per schedule, and one per agent for per-agent
# schedules (weekly training), each posting its JSON body with an OIDC token.
resource "google_cloud_scheduler_job" "schedule" {
  for_each         = local.scheduled_jobs
  name             = "sapphire-${each.key}"
  region           = var.region
  schedule         = each.value.schedule
  time_zone        = "Etc/UTC"
  attempt_deadline = "${each.value.attemptDeadlineSeconds}s"

  http_target {
    http_method = "POST"
    uri         = google_cloudfunctions2_function.fn[each.value.function].service_config[0].uri
    headers     = { "Content-Type" = "application/json" }
    body        = base64encode(each.value.body)
    oidc_token {
      service_account_email = google_service_account.invoker.email
      audience              = google_cloudfunctions2_function.fn[each.value.function].service_config[0].uri
    }
  }
}

# One inference job per agent, so each agent's tick can be paused or re-timed alone.
resource "google_cloud_scheduler_job" "agent" {
  for_each         = toset(var.agent_ids)
  name             = "sapphire-agent-${each.value}"
  region           = var.region
  schedule         = var.agent_schedule
  time_zone        = "Etc/UTC"
  attempt_deadline = "${local.schedule_triggers["agent-inference"].attemptDeadlineSeconds}s"

  http_target {
    http_method = "POST"
    uri         = google_cloudfunctions2_function.fn["agent-inference"].service_config[0].uri
    headers     = { "Content-Type" = "application/json" }
    body        = base64encode(jsonencode({ agentId = each.value }))
    oidc_token {
      service_account_email = google_service_account.invoker.email
      audience              = google_cloudfunctions2_function.fn["agent-inference"].service_config[0].uri
    }
  }
}
