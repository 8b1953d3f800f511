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

variable "versioning" {
  description = "Keep every version of each object."
  type        = bool
  default     = true
}

variable "retention_days" {
  description = "Days after which objects expire; 0 keeps them forever."
  type        = number
  default     = 0

  validation {
    condition     = var.retention_days >= 0 && var.retention_days <= 3650
    error_message = "The retention_days must be from 0 to 3650."
  }
}

variable "storage_class" {
  description = "Storage class of new objects."
  type        = string
  default     = "STANDARD"

  validation {
    condition     = contains(["STANDARD", "STANDARD_IA", "GLACIER_IR"], var.storage_class)
    error_message = "The storage_class must be STANDARD, STANDARD_IA or GLACIER_IR."
  }
}
