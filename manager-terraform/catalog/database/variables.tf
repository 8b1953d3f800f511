# The names infra-manager passes to every component (keep this block identical across
# the catalog modules); resources are named <project_name>-<component>-<environment>.

variable "customer" {
  description = "Customer repository, \"owner/repo\"."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.customer))
    error_message = "The customer must be a GitHub repository name such as \"acme/webshop\"."
  }
}

variable "environment" {
  description = "Environment name, such as staging or production."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", var.environment))
    error_message = "The environment must be a-z, 0-9 and -, not starting or ending with -."
  }
}

variable "project_name" {
  description = "The customer's project name."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", var.project_name))
    error_message = "The project_name must be a-z, 0-9 and -, not starting or ending with -."
  }
}

variable "component" {
  description = "The component's name in the customer's file."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", var.component))
    error_message = "The component must be a-z, 0-9 and -, not starting or ending with -."
  }
}

variable "tags" {
  description = "Tags for every resource; infra-manager adds managed-by and infra-manager/customer."
  type        = map(string)
  default     = {}
}

variable "engine" {
  description = "Database engine."
  type        = string
  default     = "postgres"

  validation {
    condition     = contains(["postgres", "mysql"], var.engine)
    error_message = "The engine must be postgres or mysql."
  }
}

variable "engine_version" {
  description = "Major version of the engine, such as 16 (postgres) or 8.0 (mysql)."
  type        = string
  default     = "16"

  validation {
    condition     = can(regex("^[0-9]+(\\.[0-9]+)?$", var.engine_version))
    error_message = "The engine_version must be a version number such as 16 or 8.0."
  }
}

variable "instance_class" {
  description = "Instance class, such as db.t3.micro."
  type        = string
  default     = "db.t3.micro"

  validation {
    condition     = can(regex("^db\\.[a-z0-9]+\\.[a-z0-9]+$", var.instance_class))
    error_message = "The instance_class must be a database instance class such as \"db.t3.micro\"."
  }
}

variable "storage_gb" {
  description = "Allocated storage in GiB."
  type        = number
  default     = 20

  validation {
    condition     = var.storage_gb >= 20 && var.storage_gb <= 1000
    error_message = "The storage_gb must be from 20 to 1000."
  }
}

variable "backup_retention_days" {
  description = "Days automated backups are kept."
  type        = number
  default     = 7

  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 35
    error_message = "The backup_retention_days must be from 1 to 35."
  }
}

variable "multi_az" {
  description = "A standby in a second availability zone."
  type        = bool
  default     = false
}
