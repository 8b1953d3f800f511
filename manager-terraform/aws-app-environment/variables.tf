# Inputs shared by every module under manager-terraform/: infra-manager renders the
# same values for whichever module infra-manager.yml selects, so keep this file
# identical across modules.

variable "customer" {
  description = "Customer repository, \"owner/repo\"."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.customer))
    error_message = "The customer must be a GitHub repository name such as \"acme/webshop\"."
  }
}

variable "project_name" {
  description = "The customer's project name (infra/variables.yml: project_name)."
  type        = string

  validation {
    condition     = length(var.project_name) <= 63 && can(regex("^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", var.project_name))
    error_message = "The project_name must be 1-63 characters of a-z, 0-9 and -, not starting or ending with -."
  }
}

variable "environment" {
  description = "Environment name, such as staging or production."
  type        = string

  validation {
    condition     = length(var.environment) <= 32 && can(regex("^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", var.environment))
    error_message = "The environment must be 1-32 characters of a-z, 0-9 and -, not starting or ending with -."
  }
}

variable "region" {
  description = "AWS region, such as us-east-1."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "The region must be an AWS region name such as \"us-east-1\"."
  }
}

variable "instance_type" {
  description = "EC2 instance type of the application instances, such as t3.micro."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", var.instance_type))
    error_message = "The instance_type must be an EC2 instance type such as \"t3.micro\"."
  }
}

variable "min_instances" {
  description = "Minimum (and initial desired) number of instances."
  type        = number

  validation {
    condition     = var.min_instances >= 0 && floor(var.min_instances) == var.min_instances
    error_message = "The min_instances must be a whole number, 0 or more."
  }
}

variable "max_instances" {
  description = "Maximum number of instances; at least min_instances."
  type        = number

  validation {
    condition     = var.max_instances >= 0 && floor(var.max_instances) == var.max_instances
    error_message = "The max_instances must be a whole number, 0 or more."
  }

  validation {
    condition     = var.max_instances >= var.min_instances
    error_message = "The max_instances must be at least min_instances."
  }
}

variable "vpc_cidr" {
  description = "IPv4 CIDR block of the VPC, such as 10.0.0.0/16 (/16 to /24)."
  type        = string

  validation {
    condition     = can(cidrnetmask(var.vpc_cidr)) && can(regex("/(1[6-9]|2[0-8])$", var.vpc_cidr))
    error_message = "The vpc_cidr must be an IPv4 CIDR block from /16 to /28, such as \"10.0.0.0/16\"."
  }

  validation {
    condition     = !can(cidrnetmask(var.vpc_cidr)) || try(cidrhost(var.vpc_cidr, 0) == split("/", var.vpc_cidr)[0], false)
    error_message = "The vpc_cidr must be a network address, with no host bits set: such as \"10.0.0.0/16\", not \"10.0.0.1/16\"."
  }
}

variable "availability_zones" {
  description = "Number of availability zones, one public subnet in each."
  type        = number

  validation {
    condition     = var.availability_zones >= 1 && var.availability_zones <= 6 && floor(var.availability_zones) == var.availability_zones
    error_message = "The availability_zones must be a whole number from 1 to 6."
  }
}

variable "tags" {
  description = "Tags for every resource; infra-manager adds Name, managed-by and infra-manager/customer."
  type        = map(string)
  default     = {}
}
