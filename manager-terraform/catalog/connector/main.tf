# A provider-free stand-in for a data connector of one user and one source system: a
# bucket for the raw files, an ingestion job, a transformation job, a dataset of authorized
# views and the service account the jobs run as. Each terraform_data's `input` carries the
# arguments the real resource would get (manager-terraform/gcp-connector is the Google
# Cloud module); `triggers_replace` what would force a new one.

module "names" {
  source    = "./names"
  user_id   = var.user_id
  connector = var.connector
  scope     = "${var.customer}/${var.project_name}/${var.environment}"
}

locals {
  # The customer's tags, then ours: a customer can't override the management tags.
  tags = merge(var.tags, {
    "managed-by"             = "infra-manager"
    "infra-manager/customer" = var.customer
  })
}

resource "terraform_data" "service_account" {
  input = {
    account_id   = module.names.service_account
    display_name = "Connector ${var.connector} of ${module.names.user}"
  }

  triggers_replace = {
    account_id = module.names.service_account
  }
}

resource "terraform_data" "bucket" {
  input = {
    name                        = module.names.bucket
    uniform_bucket_level_access = true
    public_access_prevention    = "enforced"
    versioning                  = true
    delete_after_days           = var.retention_days
    object_admin                = terraform_data.service_account.output.account_id
    labels                      = local.tags
  }

  # A bucket can't be renamed.
  triggers_replace = {
    name = module.names.bucket
  }
}

resource "terraform_data" "ingestion_job" {
  input = {
    name            = module.names.ingestion_job
    connector       = var.connector
    schedule        = var.schedule
    bucket          = terraform_data.bucket.output.name
    service_account = terraform_data.service_account.output.account_id
  }

  triggers_replace = {
    name = module.names.ingestion_job
  }
}

resource "terraform_data" "transformation_job" {
  input = {
    name            = module.names.transformation_job
    bucket          = terraform_data.bucket.output.name
    dataset         = module.names.data_dataset
    service_account = terraform_data.service_account.output.account_id
  }

  triggers_replace = {
    name = module.names.transformation_job
  }
}

resource "terraform_data" "dataset_view" {
  input = {
    dataset_id = module.names.views_dataset
    view       = var.connector
    authorized = "${module.names.data_dataset}.${var.connector}"
  }

  triggers_replace = {
    dataset_id = module.names.views_dataset
  }
}
