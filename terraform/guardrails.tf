# Guardrails on the guardrails: Cloud Monitoring watches the drawdown evaluator itself, the dead
# letters, the functions' failures, the venue and training, and sends every incident to the same
# channels as the drawdown and margin policies (local.channels in monitoring.tf).
#
# Log-based metrics read the structured lines the functions write (shared/log.ts): the signal
# path's latencies become distributions, its failures counters. The field and message names
# are the code's; test/unit/terraform.test.ts checks them against the sources.

locals {
  # The functions run as Cloud Run services (Cloud Functions gen2).
  function_logs = "resource.type=\"cloud_run_revision\""

  latency_metrics = {
    signal_decision_latency = { message = "reservation decided", field = "decisionLatencyMs", what = "From intake accepting a signal to its reservation or rejection" }
    order_placement_latency = { message = "order placed", field = "placementLatencyMs", what = "From a reservation's decision to the venue acknowledging its order" }
    venue_request_latency   = { message = "order placed", field = "venueLatencyMs", what = "Order placement requests to the venue" }
    order_fill_latency      = { message = "fill applied", field = "fillLatencyMs", what = "From an order's creation to each of its fills being booked" }
  }

  event_metrics = {
    venue_errors      = { filter = "jsonPayload.message=(\"venue refused order\" OR \"venue request failed; the order is retried\")", what = "Venue refusals and failed venue requests" }
    dead_letters_kept = { filter = "jsonPayload.message=\"malformed message acknowledged and kept as a dead letter\"", what = "Pub/Sub messages no function could read, kept in Firestore" }
    training_failures = { filter = "jsonPayload.message=\"training run failed\"", what = "Fine-tuning runs that failed, were cancelled or failed their gate" }
  }
}

resource "google_logging_metric" "latency" {
  for_each    = local.latency_metrics
  project     = var.project_id
  name        = "sapphire/${each.key}"
  description = "${each.value.what}, in milliseconds."
  filter      = "${local.function_logs} AND jsonPayload.message=\"${each.value.message}\" AND jsonPayload.${each.value.field}>=0"
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "DISTRIBUTION"
    unit        = "ms"
  }
  value_extractor = "EXTRACT(jsonPayload.${each.value.field})"
  bucket_options {
    # 1 ms … about 9 minutes, doubling.
    exponential_buckets {
      num_finite_buckets = 20
      growth_factor      = 2
      scale              = 1
    }
  }
  depends_on = [google_project_service.apis]
}

resource "google_logging_metric" "event" {
  for_each    = local.event_metrics
  project     = var.project_id
  name        = "sapphire/${each.key}"
  description = each.value.what
  filter      = "${local.function_logs} AND ${each.value.filter}"
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
  }
  depends_on = [google_project_service.apis]
}

resource "google_monitoring_alert_policy" "evaluator_silent" {
  display_name = "Sapphire drawdown evaluator silent for 3 minutes"
  combiner     = "OR"
  severity     = "CRITICAL"
  user_labels = {
    sapphire_policy = "evaluator_silent"
  }
  documentation {
    content = "The drawdown evaluator writes portfolio_drawdown_pct on every run (each minute). Without it no kill switch fires: check the drawdown-evaluator function, its Cloud Scheduler job and /healthz."
  }
  conditions {
    display_name = "no portfolio_drawdown_pct for 3 minutes"
    condition_absent {
      filter   = "metric.type = \"custom.googleapis.com/portfolio_drawdown_pct\" AND resource.type = \"global\""
      duration = "180s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_COUNT"
      }
    }
  }
  notification_channels = local.channels
  depends_on            = [google_monitoring_metric_descriptor.custom]
}

resource "google_monitoring_alert_policy" "dead_letters" {
  display_name = "Sapphire dead letters waiting"
  combiner     = "OR"
  severity     = "WARNING"
  user_labels = {
    sapphire_policy = "dead_letters"
  }
  documentation {
    content = "Messages a function failed on maxDeliveryAttempts times wait in a *-dead-letter-hold subscription; malformed ones are kept in Firestore's deadLetters (GET /healthz counts them)."
  }
  conditions {
    display_name = "a dead-letter holding subscription holds messages"
    condition_threshold {
      filter          = "metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\" AND resource.type = \"pubsub_subscription\" AND resource.label.subscription_id = monitoring.regex.full_match(\".*-dead-letter-hold\")"
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "60s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }
  conditions {
    display_name = "a malformed message was kept as a dead letter"
    condition_threshold {
      filter          = "metric.type = \"logging.googleapis.com/user/${google_logging_metric.event["dead_letters_kept"].name}\" AND resource.type = \"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_SUM"
      }
    }
  }
  notification_channels = local.channels
}

resource "google_monitoring_alert_policy" "function_errors" {
  display_name = "Sapphire function errors"
  combiner     = "OR"
  severity     = "ERROR"
  user_labels = {
    sapphire_policy = "function_errors"
  }
  documentation {
    content = "A Sapphire function answers 5xx (Pub/Sub redelivers, brokers retry) or logs errors. Its logs, grouped by trace, show which signal failed where."
  }
  conditions {
    display_name = "5xx answers above 1 per minute"
    condition_threshold {
      filter          = "metric.type = \"run.googleapis.com/request_count\" AND resource.type = \"cloud_run_revision\" AND metric.label.response_code_class = \"5xx\""
      comparison      = "COMPARISON_GT"
      threshold_value = 1 / 60
      duration        = "300s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.service_name"]
      }
    }
  }
  conditions {
    display_name = "error log lines above 1 per minute"
    condition_threshold {
      filter          = "metric.type = \"logging.googleapis.com/log_entry_count\" AND resource.type = \"cloud_run_revision\" AND metric.label.severity = \"ERROR\""
      comparison      = "COMPARISON_GT"
      threshold_value = 1 / 60
      duration        = "300s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.service_name"]
      }
    }
  }
  notification_channels = local.channels
}

resource "google_monitoring_alert_policy" "venue_errors" {
  display_name = "Sapphire venue errors"
  combiner     = "OR"
  severity     = "ERROR"
  user_labels = {
    sapphire_policy = "venue_errors"
  }
  documentation {
    content = "The venue refused orders or did not answer, more than 5 times in 5 minutes. order-router's logs ('venue refused order', 'venue request failed') carry the reason and latency."
  }
  conditions {
    display_name = "more than 5 venue errors in 5 minutes"
    condition_threshold {
      filter          = "metric.type = \"logging.googleapis.com/user/${google_logging_metric.event["venue_errors"].name}\" AND resource.type = \"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = 5
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }
  notification_channels = local.channels
}

resource "google_monitoring_alert_policy" "training_failed" {
  display_name = "Sapphire training run failed"
  combiner     = "OR"
  severity     = "WARNING"
  user_labels = {
    sapphire_policy = "training_failed"
  }
  documentation {
    content = "A fine-tuning run failed, was cancelled, or failed its promotion gate; the serving model is unchanged. npm run training -- list shows its reason."
  }
  conditions {
    display_name = "a training run failed"
    condition_threshold {
      filter          = "metric.type = \"logging.googleapis.com/user/${google_logging_metric.event["training_failures"].name}\" AND resource.type = \"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }
  notification_channels = local.channels
}
