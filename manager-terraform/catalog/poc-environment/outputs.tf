output "name" {
  description = "Name of the environment's service."
  value       = terraform_data.service.output.name
}

output "service_url" {
  description = "Where the people trying the proof of concept sign in."
  value       = "https://${terraform_data.dns_record.output.name}"
}

output "instances" {
  description = "How many instances the size gives the service."
  value       = terraform_data.service.output.instances
}

output "database_identifier" {
  description = "Identifier of the environment's database."
  value       = terraform_data.database.output.identifier
}
