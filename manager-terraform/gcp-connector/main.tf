# A data connector of one user and one source system on Google Cloud: a bucket for the
# raw files, an ingestion job (scheduled) that fills it, a transformation job that loads
# it into a private dataset, and a dataset of authorized views the user queries. Both
# jobs run as a service account of their own, holding only: objectAdmin on its bucket,
# dataEditor on its dataset, run.invoker on its two jobs and bigquery.jobUser to run
# queries. Names come from ./names, a copy of the sandbox type's.
#
# infra-manager passes only the module's inputs (no provider configuration), so this
# module configures its own provider; it can't be called with count, for_each or
# depends_on.

# The project and region come from the runner's environment (GOOGLE_PROJECT,
# GOOGLE_REGION, with its credentials), never from the customer.
provider "google" {
  default_labels = local.labels
}

module "names" {
  source    = "./names"
  user_id   = var.user_id
  connector = var.connector
  scope     = "${var.customer}/${var.project_name}/${var.environment}"
}

data "google_client_config" "current" {}

locals {
  project = data.google_client_config.current.project
  region  = data.google_client_config.current.region
  # What the provider sets up once per project (README.md): the key that encrypts the
  # bucket and the datasets, and the repository of the jobs' images.
  kms_key_name = "projects/${local.project}/locations/${local.region}/keyRings/connectors/cryptoKeys/connectors"
  registry     = "${local.region}-docker.pkg.dev/${local.project}/connectors"
  images = {
    ingestion      = "${local.registry}/${var.connector}-ingestion:stable"
    transformation = "${local.registry}/transformation:stable"
  }

  # Labels take a-z, 0-9, _ and - (at most 63): the customer's tags as labels, then ours.
  labels = merge(
    { for k, v in var.tags : substr(replace(lower(k), "/[^a-z0-9_-]/", "_"), 0, 63) => substr(replace(lower(v), "/[^a-z0-9_-]/", "_"), 0, 63) },
    {
      "managed-by"             = "infra-manager"
      "infra-manager-customer" = substr(replace(lower(var.customer), "/[^a-z0-9_-]/", "_"), 0, 63)
      "connector"              = var.connector
    },
  )
}

resource "google_service_account" "connector" {
  account_id   = module.names.service_account
  display_name = "Connector ${var.connector} of ${module.names.user}"
  description  = "Runs ${module.names.ingestion_job} and ${module.names.transformation_job}."
}

# --- Raw files ---------------------------------------------------------------------

resource "google_storage_bucket" "raw" {
  #checkov:skip=CKV_GCP_62:access logs of a bucket only its own service account reads would go to another bucket per user; Cloud Audit Logs (data access) record the reads.
  name                        = module.names.bucket
  location                    = local.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  # Its files are re-ingested from the source system, and removing the component is a
  # reviewed destroy plan, which a bucket that still holds files would make fail.
  force_destroy = true

  versioning {
    enabled = true
  }

  encryption {
    default_kms_key_name = local.kms_key_name
  }

  lifecycle_rule {
    condition {
      age = var.retention_days
    }
    action {
      type = "Delete"
    }
  }

  # Old versions go too, a day after they were replaced.
  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 1
    }
    action {
      type = "Delete"
    }
  }
}

resource "google_storage_bucket_iam_member" "connector_objects" {
  bucket = google_storage_bucket.raw.name
  role   = "roles/storage.objectAdmin"
  member = google_service_account.connector.member
}

# --- Datasets ----------------------------------------------------------------------

# The private dataset the transformation job writes; only the service account and the
# authorized view read it.
resource "google_bigquery_dataset" "data" {
  dataset_id = module.names.data_dataset
  location   = local.region

  default_encryption_configuration {
    kms_key_name = local.kms_key_name
  }
}

resource "google_bigquery_table" "records" {
  #checkov:skip=CKV_GCP_121:the records are re-ingested from the source system, and removing the component is a reviewed destroy plan; Terraform's flag would make that reviewed plan fail.
  dataset_id          = google_bigquery_dataset.data.dataset_id
  table_id            = var.connector
  deletion_protection = false

  encryption_configuration {
    kms_key_name = local.kms_key_name
  }

  schema = jsonencode([
    { name = "id", type = "STRING", mode = "REQUIRED" },
    { name = "kind", type = "STRING", mode = "REQUIRED" },
    { name = "payload", type = "JSON", mode = "NULLABLE" },
    { name = "ingested_at", type = "TIMESTAMP", mode = "REQUIRED" },
  ])
}

resource "google_bigquery_dataset_iam_member" "connector_data" {
  dataset_id = google_bigquery_dataset.data.dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = google_service_account.connector.member
}

# The user's dataset: views only, each authorized on the private dataset.
resource "google_bigquery_dataset" "views" {
  dataset_id = module.names.views_dataset
  location   = local.region

  default_encryption_configuration {
    kms_key_name = local.kms_key_name
  }
}

resource "google_bigquery_table" "view" {
  #checkov:skip=CKV_GCP_80:a view stores no data to encrypt: it reads the records table, which the KMS key encrypts.
  #checkov:skip=CKV_GCP_121:a view holds no data; removing the component is a reviewed destroy plan.
  dataset_id          = google_bigquery_dataset.views.dataset_id
  table_id            = var.connector
  deletion_protection = false

  view {
    query          = "SELECT id, kind, payload, ingested_at FROM `${local.project}.${google_bigquery_dataset.data.dataset_id}.${google_bigquery_table.records.table_id}`"
    use_legacy_sql = false
  }
}

resource "google_bigquery_dataset_access" "authorized_view" {
  dataset_id = google_bigquery_dataset.data.dataset_id

  view {
    project_id = local.project
    dataset_id = google_bigquery_dataset.views.dataset_id
    table_id   = google_bigquery_table.view.table_id
  }
}

# Running the transformation's load and query jobs is a project-level permission; it
# grants no access to any data.
resource "google_project_iam_member" "connector_jobs" {
  project = local.project
  role    = "roles/bigquery.jobUser"
  member  = google_service_account.connector.member
}

# --- Jobs --------------------------------------------------------------------------

# deletion_protection off on both jobs: removing the component is a reviewed destroy plan,
# which the provider's default (on) would make fail.
resource "google_cloud_run_v2_job" "ingestion" {
  name                = module.names.ingestion_job
  location            = local.region
  deletion_protection = false

  template {
    template {
      service_account = google_service_account.connector.email
      max_retries     = 3
      timeout         = "3600s"

      containers {
        image = local.images.ingestion

        env {
          name  = "CONNECTOR"
          value = var.connector
        }
        env {
          name  = "BUCKET"
          value = google_storage_bucket.raw.name
        }
        # The ingestion job starts the transformation when it has written its files.
        env {
          name  = "TRANSFORMATION_JOB"
          value = "projects/${local.project}/locations/${local.region}/jobs/${module.names.transformation_job}"
        }
      }
    }
  }
}

resource "google_cloud_run_v2_job" "transformation" {
  name                = module.names.transformation_job
  location            = local.region
  deletion_protection = false

  template {
    template {
      service_account = google_service_account.connector.email
      max_retries     = 3
      timeout         = "3600s"

      containers {
        image = local.images.transformation

        env {
          name  = "BUCKET"
          value = google_storage_bucket.raw.name
        }
        env {
          name  = "TABLE"
          value = "${local.project}.${google_bigquery_dataset.data.dataset_id}.${google_bigquery_table.records.table_id}"
        }
      }
    }
  }
}

resource "google_cloud_run_v2_job_iam_member" "invoke" {
  for_each = {
    ingestion      = google_cloud_run_v2_job.ingestion.name
    transformation = google_cloud_run_v2_job.transformation.name
  }

  location = local.region
  name     = each.value
  role     = "roles/run.invoker"
  member   = google_service_account.connector.member
}

resource "google_cloud_scheduler_job" "ingestion" {
  name      = module.names.ingestion_job
  region    = local.region
  schedule  = var.schedule
  time_zone = "Etc/UTC"

  http_target {
    http_method = "POST"
    uri         = "https://run.googleapis.com/v2/projects/${local.project}/locations/${local.region}/jobs/${google_cloud_run_v2_job.ingestion.name}:run"

    oauth_token {
      service_account_email = google_service_account.connector.email
    }
  }

  depends_on = [google_cloud_run_v2_job_iam_member.invoke]
}
