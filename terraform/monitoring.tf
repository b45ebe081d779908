# Cloud Monitoring incidents reach monitoring-incidents through a Pub/Sub notification channel.
# Sapphire's own policies carry the user label `sapphire_policy`, which the function reads to
# halt trading on a drawdown policy, as the drawdown evaluator does.

resource "google_monitoring_notification_channel" "pubsub" {
  project      = var.project_id
  display_name = "Sapphire monitoring-incidents"
  type         = "pubsub"
  labels = {
    topic = google_pubsub_topic.topic["monitoring-incidents"].id
  }
}

resource "google_pubsub_topic_iam_member" "monitoring_publisher" {
  topic  = google_pubsub_topic.topic["monitoring-incidents"].id
  role   = "roles/pubsub.publisher"
  member = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-monitoring-notification.iam.gserviceaccount.com"
  # Cloud Monitoring creates its notification service agent with the project's first channel.
  depends_on = [google_monitoring_notification_channel.pubsub]
}

# A descriptor for every custom metric the evaluator writes (triggers.json `customMetrics`,
# from shared/ops/metrics.ts), with the labels the code writes: a policy that watches a metric
# no point was written to yet fails with 404 "Cannot find metric(s)" without one.
resource "google_monitoring_metric_descriptor" "custom" {
  for_each     = { for m in local.manifest.customMetrics : m.name => m }
  project      = var.project_id
  type         = "custom.googleapis.com/${each.key}"
  display_name = each.key
  description  = each.value.description
  metric_kind  = "GAUGE"
  value_type   = "DOUBLE"
  dynamic "labels" {
    for_each = each.value.labels
    content {
      key        = labels.value
      value_type = "STRING"
    }
  }
  depends_on = [google_project_service.apis]
}

resource "google_monitoring_notification_channel" "email" {
  count        = var.alert_notification_email == "" ? 0 : 1
  display_name = "Sapphire operators"
  type         = "email"
  labels = {
    email_address = var.alert_notification_email
  }
  depends_on = [google_project_service.apis]
}

locals {
  channels = concat([google_monitoring_notification_channel.pubsub.id], google_monitoring_notification_channel.email[*].id)
}

resource "google_monitoring_alert_policy" "portfolio_drawdown" {
  display_name = "Sapphire portfolio drawdown > ${local.manifest.riskThresholds.portfolioDrawdownPct}%"
  combiner     = "OR"
  severity     = "CRITICAL"
  user_labels = {
    sapphire_policy = "drawdown"
  }
  conditions {
    display_name = "portfolio_drawdown_pct above ${local.manifest.riskThresholds.portfolioDrawdownPct}"
    condition_threshold {
      filter          = "metric.type = \"custom.googleapis.com/portfolio_drawdown_pct\" AND resource.type = \"global\""
      comparison      = "COMPARISON_GT"
      threshold_value = local.manifest.riskThresholds.portfolioDrawdownPct
      duration        = "0s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }
  notification_channels = local.channels
  depends_on            = [google_monitoring_metric_descriptor.custom]
}

resource "google_monitoring_alert_policy" "margin_utilization" {
  display_name = "Sapphire agent margin utilization > ${local.manifest.riskThresholds.utilizationRatio * 100}%"
  combiner     = "OR"
  severity     = "WARNING"
  user_labels = {
    sapphire_policy = "margin_utilization"
  }
  conditions {
    display_name = "agent_margin_utilization_ratio above ${local.manifest.riskThresholds.utilizationRatio}"
    condition_threshold {
      filter          = "metric.type = \"custom.googleapis.com/agent_margin_utilization_ratio\" AND resource.type = \"global\""
      comparison      = "COMPARISON_GT"
      threshold_value = local.manifest.riskThresholds.utilizationRatio
      duration        = "0s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }
  notification_channels = local.channels
  depends_on            = [google_monitoring_metric_descriptor.custom]
}
