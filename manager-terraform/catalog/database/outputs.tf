output "database_identifier" {
  description = "Identifier of the database instance."
  value       = terraform_data.instance.output.identifier
}

output "database_arn" {
  description = "ARN of the database instance."
  value       = "arn:aws:rds:::db:${terraform_data.instance.output.identifier}"
}

output "endpoint" {
  description = "Host and port to connect to."
  value       = "${terraform_data.instance.output.identifier}.db.internal:${terraform_data.instance.output.port}"
}
