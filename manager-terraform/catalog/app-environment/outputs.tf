output "name_prefix" {
  description = "Prefix of resource names: <project_name>-<component>-<environment>."
  value       = local.name_prefix
}

output "vpc_id" {
  description = "ID of the VPC."
  value       = local.vpc_id
}

output "subnet_ids" {
  description = "IDs of the public subnets, one per availability zone."
  value       = local.subnet_ids
}

output "security_group_id" {
  description = "ID of the application security group."
  value       = local.security_group_id
}

output "autoscaling_group_name" {
  description = "Name of the autoscaling group."
  value       = local.autoscaling_group_name
}
