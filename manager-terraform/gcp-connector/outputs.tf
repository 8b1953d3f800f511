# The sandbox connector's outputs, with the same names and meaning.

output "bucket_name" {
  description = "The bucket the ingestion job writes raw files to."
  value       = google_storage_bucket.raw.name
}

output "ingestion_job_name" {
  description = "The ingestion job: <user>-<connector>-ingestion."
  value       = google_cloud_run_v2_job.ingestion.name
}

output "transformation_job_name" {
  description = "The transformation job: <user>-<connector>-transformation."
  value       = google_cloud_run_v2_job.transformation.name
}

output "dataset_view" {
  description = "The dataset of the user's authorized views: <user>_views."
  value       = google_bigquery_dataset.views.dataset_id
}
