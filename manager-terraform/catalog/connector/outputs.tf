# No health_check_url: the connector serves nothing; its jobs run on the schedule.

output "bucket_name" {
  description = "The bucket the ingestion job writes raw files to."
  value       = terraform_data.bucket.output.name
}

output "ingestion_job_name" {
  description = "The ingestion job: <user>-<connector>-ingestion."
  value       = terraform_data.ingestion_job.output.name
}

output "transformation_job_name" {
  description = "The transformation job: <user>-<connector>-transformation."
  value       = terraform_data.transformation_job.output.name
}

output "dataset_view" {
  description = "The dataset of the user's authorized views: <user>_views."
  value       = terraform_data.dataset_view.output.dataset_id
}
