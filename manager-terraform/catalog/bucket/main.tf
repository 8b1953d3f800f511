# A provider-free stand-in for an S3 bucket: each terraform_data's `input` carries the
# arguments the real resource would get; `triggers_replace` what would force a new one.

locals {
  name = "${var.project_name}-${var.component}-${var.environment}"
  # The customer's tags, then ours: a customer can't override the management tags.
  tags = merge(var.tags, {
    "managed-by"             = "infra-manager"
    "infra-manager/customer" = var.customer
  })
}

resource "terraform_data" "bucket" {
  input = {
    bucket = local.name
    tags   = local.tags
  }

  # A bucket can't be renamed.
  triggers_replace = {
    bucket = local.name
  }
}

resource "terraform_data" "versioning" {
  input = {
    bucket = terraform_data.bucket.output.bucket
    status = var.versioning ? "Enabled" : "Suspended"
  }
}

resource "terraform_data" "lifecycle" {
  input = {
    bucket          = terraform_data.bucket.output.bucket
    storage_class   = var.storage_class
    expiration_days = var.retention_days == 0 ? null : var.retention_days
  }
}

resource "terraform_data" "public_access_block" {
  input = {
    bucket                  = terraform_data.bucket.output.bucket
    block_public_acls       = true
    block_public_policy     = true
    ignore_public_acls      = true
    restrict_public_buckets = true
  }
}
