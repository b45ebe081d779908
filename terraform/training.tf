# Training and serving on Vertex AI: the images' registry, the datasets/models bucket, one
# endpoint per agent, and the service account training jobs run as (least privilege).

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  image_prefix = "${var.training_region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}"
  # VERTEX_ENDPOINTS: the endpoints made here, unless var.vertex_endpoints names others.
  agent_endpoints = merge({ for agent, endpoint in google_vertex_ai_endpoint.agent : agent => endpoint.id }, var.vertex_endpoints)
  training_env = {
    TRAINING_BUCKET            = google_storage_bucket.training.name
    TRAINING_LOCATION          = var.training_region
    TRAINER_IMAGE_URI          = "${local.image_prefix}/trainer:${var.image_tag}"
    LLM_SERVING_IMAGE_URI      = "${local.image_prefix}/llm-serving:${var.image_tag}"
    LAGLLAMA_SERVING_IMAGE_URI = "${local.image_prefix}/lagllama-serving:${var.image_tag}"
    TRAINER_SERVICE_ACCOUNT    = google_service_account.trainer.email
  }
  vertex_service_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-aiplatform.iam.gserviceaccount.com"
}

resource "google_artifact_registry_repository" "images" {
  location      = var.training_region
  repository_id = "sapphire"
  format        = "DOCKER"
  description   = "Sapphire's trainer and serving images (containers/, tagged by commit)"
  depends_on    = [google_project_service.apis]
}

resource "google_storage_bucket" "training" {
  name                        = "${var.project_id}-sapphire-training"
  location                    = var.training_region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  depends_on                  = [google_project_service.apis]

  # A dataset or model overwritten by mistake can be recovered.
  versioning {
    enabled = true
  }
  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 30
    }
    action {
      type = "Delete"
    }
  }
  # Datasets are rebuilt from Firestore and the candles; models that served are kept.
  lifecycle_rule {
    condition {
      age            = 180
      matches_prefix = ["datasets/"]
    }
    action {
      type = "Delete"
    }
  }
}

# Endpoint ids are numeric: 1000 + the agent's place in var.agent_ids.
resource "google_vertex_ai_endpoint" "agent" {
  for_each     = toset(var.agent_ids)
  name         = tostring(1000 + index(var.agent_ids, each.value))
  display_name = "sapphire-${each.value}"
  location     = var.training_region
  region       = var.training_region
  labels       = { sapphire_agent = each.value }
  depends_on   = [google_project_service.apis]
}

resource "google_service_account" "trainer" {
  project      = var.project_id
  account_id   = "sapphire-trainer"
  display_name = "Sapphire training jobs on Vertex AI"
  depends_on   = [google_project_service.apis]
}

# The trainer reads datasets and writes models in the training bucket, and logs; nothing else.
resource "google_storage_bucket_iam_member" "trainer" {
  bucket = google_storage_bucket.training.name
  role   = "roles/storage.objectAdmin"
  member = "serviceAccount:${google_service_account.trainer.email}"
}

resource "google_project_iam_member" "trainer_logs" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = "serviceAccount:${google_service_account.trainer.email}"
}

resource "google_artifact_registry_repository_iam_member" "trainer_pull" {
  location   = google_artifact_registry_repository.images.location
  repository = google_artifact_registry_repository.images.name
  role       = "roles/artifactregistry.reader"
  member     = "serviceAccount:${google_service_account.trainer.email}"
}

# The functions export datasets and read metrics.json; they start jobs that run as the trainer.
# Functions whose needs say `training`: the bucket, and starting jobs as the trainer.
resource "google_storage_bucket_iam_member" "fn" {
  for_each = local.training_functions
  bucket   = google_storage_bucket.training.name
  role     = "roles/storage.objectAdmin"
  member   = "serviceAccount:${google_service_account.fn[each.value].email}"
}

resource "google_service_account_iam_member" "fn_acts_as_trainer" {
  for_each           = local.training_functions
  service_account_id = google_service_account.trainer.name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.fn[each.value].email}"
}

# Vertex AI itself reads uploaded model artifacts and pulls the serving images.
resource "google_storage_bucket_iam_member" "vertex_reads_models" {
  bucket = google_storage_bucket.training.name
  role   = "roles/storage.objectViewer"
  member = local.vertex_service_agent
}

resource "google_artifact_registry_repository_iam_member" "vertex_pull" {
  location   = google_artifact_registry_repository.images.location
  repository = google_artifact_registry_repository.images.name
  role       = "roles/artifactregistry.reader"
  member     = local.vertex_service_agent
}
