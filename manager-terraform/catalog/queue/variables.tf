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

variable "fifo" {
  description = "First-in-first-out delivery, exactly once."
  type        = bool
  default     = false
}

variable "visibility_timeout_seconds" {
  description = "How long a received message stays hidden from other consumers."
  type        = number
  default     = 30

  validation {
    condition     = var.visibility_timeout_seconds >= 0 && var.visibility_timeout_seconds <= 43200
    error_message = "The visibility_timeout_seconds must be from 0 to 43200."
  }
}

variable "retention_seconds" {
  description = "How long an unreceived message is kept."
  type        = number
  default     = 345600

  validation {
    condition     = var.retention_seconds >= 60 && var.retention_seconds <= 1209600
    error_message = "The retention_seconds must be from 60 (one minute) to 1209600 (14 days)."
  }
}

variable "max_receive_count" {
  description = "Receives after which a message moves to the dead-letter queue."
  type        = number
  default     = 5

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000
    error_message = "The max_receive_count must be from 1 to 1000."
  }
}
