output "bucket_name" {
  description = "Name of the bucket."
  value       = terraform_data.bucket.output.bucket
}

output "bucket_arn" {
  description = "ARN of the bucket."
  value       = "arn:aws:s3:::${terraform_data.bucket.output.bucket}"
}

output "bucket_url" {
  description = "S3 URL of the bucket."
  value       = "s3://${terraform_data.bucket.output.bucket}"
}
