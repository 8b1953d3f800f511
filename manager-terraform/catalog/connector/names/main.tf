# The names of a connector's resources, derived from the user id. The sandbox type
# (manager-terraform/catalog/connector) and the Google Cloud module
# (manager-terraform/gcp-connector) each hold this file as `names/main.tf`, so that each
# module is self-contained when infra-manager copies it into a rendered root, and both
# name the same things the same way: tests/it/catalog_modules.rs holds the copies identical.

terraform {
  required_version = ">= 1.4.0"
}

variable "user_id" {
  description = "The user id, already checked by the calling module's validation."
  type        = string
}

variable "connector" {
  description = "The connector type, already checked by the calling module's validation."
  type        = string
}

variable "scope" {
  description = "What makes the bucket name unique across customers and environments (\"<customer>/<project_name>/<environment>\")."
  type        = string
}

locals {
  # Lowercase, every run of characters other than a-z and 0-9 one "-", none at either end.
  cleaned = trim(replace(lower(var.user_id), "/[^a-z0-9]+/", "-"), "-")
  # Cloud Run job and service account names start with a letter.
  lettered = can(regex("^[a-z]", local.cleaned)) ? local.cleaned : "u-${local.cleaned}"
  # At most 30, so "<user>-salesforce-transformation" (56) fits Cloud Run's 63 and
  # "<user>-<connector>-<8 hex>" (50) fits Cloud Storage's 63.
  user = trim(substr(local.lettered, 0, 30), "-")
}

output "user" {
  description = "The user id as a name: a-z, 0-9 and -, starting with a letter, at most 30."
  value       = local.user
}

output "bucket" {
  description = "The bucket: globally unique, so it carries a hash of the scope."
  value       = "${local.user}-${var.connector}-${substr(sha256(var.scope), 0, 8)}"
}

output "ingestion_job" {
  description = "The ingestion job."
  value       = "${local.user}-${var.connector}-ingestion"
}

output "transformation_job" {
  description = "The transformation job."
  value       = "${local.user}-${var.connector}-transformation"
}

output "views_dataset" {
  description = "The dataset of the user's authorized views (BigQuery ids take _, not -)."
  value       = "${replace(local.user, "-", "_")}_views"
}

output "data_dataset" {
  description = "The private dataset the connector's jobs write and its views read."
  value       = "${replace(local.user, "-", "_")}_${var.connector}"
}

output "service_account" {
  description = "The service account id: 6 to 30 of a-z, 0-9 and -, starting with a letter, unique per user and connector."
  value       = "conn-${substr(sha256("${local.user}/${var.connector}"), 0, 20)}"
}
