output "name_prefix" {
  description = "Prefix of resource names: <project_name>-<component>-<environment>."
  value       = module.app.name_prefix
}

output "vpc_id" {
  description = "ID of the VPC."
  value       = module.app.vpc_id
}

output "subnet_ids" {
  description = "IDs of the public subnets, one per availability zone."
  value       = module.app.subnet_ids
}

output "autoscaling_group_name" {
  description = "Name of the autoscaling group."
  value       = module.app.autoscaling_group_name
}
