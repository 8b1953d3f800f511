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

# The connector's own inputs: the same blocks as the sandbox type
# (manager-terraform/catalog/connector/variables.tf); tests/it/catalog_modules.rs holds the
# contract. Keep them identical, and add none: every variable of a catalog module is an
# input the customer may set, so the Google Cloud settings are not variables (main.tf).

variable "user_id" {
  description = "The backend's id of the user the connector ingests for: letters, digits and . _ @ + -, starting with a letter or digit, at most 64. Resource names use it lowercased, each run of other characters than a-z and 0-9 as one -, u- in front if it does not start with a letter, at most 30."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$", var.user_id))
    error_message = "The user_id must be 1 to 64 of A-Z, a-z, 0-9 and . _ @ + -, starting with a letter or digit."
  }
}

variable "connector" {
  description = "The source system the connector ingests from."
  type        = string

  validation {
    condition     = contains(["xero", "shopify", "stripe", "hubspot", "salesforce"], var.connector)
    error_message = "The connector must be xero, shopify, stripe, hubspot or salesforce."
  }
}

variable "schedule" {
  description = "When the ingestion job runs: a five-field cron expression (UTC)."
  type        = string
  default     = "0 2 * * *"

  validation {
    condition     = can(regex("^[0-9*/,-]+ [0-9*/,-]+ [0-9*/,-]+ [0-9*/,-]+ [0-9*/,-]+$", var.schedule))
    error_message = "The schedule must be five cron fields of digits and * / , -, such as \"0 2 * * *\"."
  }
}

variable "retention_days" {
  description = "Days the raw ingested files are kept in the bucket."
  type        = number
  default     = 30

  validation {
    condition     = var.retention_days >= 1 && var.retention_days <= 3650
    error_message = "The retention_days must be from 1 to 3650."
  }
}
