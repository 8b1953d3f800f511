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
# (manager-terraform/catalog/connector/variables.tf); tests/catalog_modules.rs holds the
# contract. Keep them identical.

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

# Google Cloud settings: the provider's, not the customer's. infra-manager passes a
# component only its catalog inputs, so each has a default: the runner's Google Cloud
# environment (GOOGLE_PROJECT, GOOGLE_REGION) or the conventions in README.md.

variable "project" {
  description = "The Google Cloud project the connector runs in (one per customer environment: job names do not carry the environment); null: the provider's GOOGLE_PROJECT."
  type        = string
  default     = null

  validation {
    condition     = var.project == null || can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project))
    error_message = "The project must be a Google Cloud project id: 6 to 30 of a-z, 0-9 and -, starting with a letter."
  }
}

variable "region" {
  description = "The region of the jobs, the bucket and the datasets; null: the provider's GOOGLE_REGION."
  type        = string
  default     = null

  validation {
    condition     = var.region == null || can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "The region must be a Google Cloud region such as europe-west1."
  }
}

variable "ingestion_image" {
  description = "The ingestion job's container image; null: <region>-docker.pkg.dev/<project>/connectors/<connector>-ingestion:stable."
  type        = string
  default     = null

  validation {
    condition     = var.ingestion_image == null || can(regex("^[a-z0-9.-]+(/[a-z0-9._-]+)+(:[A-Za-z0-9._-]+)?(@sha256:[0-9a-f]{64})?$", var.ingestion_image))
    error_message = "The ingestion_image must be a container image reference: <registry>/<path>[:tag][@sha256:<digest>]."
  }
}

variable "transformation_image" {
  description = "The transformation job's container image; null: <region>-docker.pkg.dev/<project>/connectors/transformation:stable."
  type        = string
  default     = null

  validation {
    condition     = var.transformation_image == null || can(regex("^[a-z0-9.-]+(/[a-z0-9._-]+)+(:[A-Za-z0-9._-]+)?(@sha256:[0-9a-f]{64})?$", var.transformation_image))
    error_message = "The transformation_image must be a container image reference: <registry>/<path>[:tag][@sha256:<digest>]."
  }
}

variable "kms_key_name" {
  description = "The Cloud KMS key that encrypts the bucket and the datasets; null: projects/<project>/locations/<region>/keyRings/connectors/cryptoKeys/connectors."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_name == null || can(regex("^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$", var.kms_key_name))
    error_message = "The kms_key_name must be a Cloud KMS key name: projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>."
  }
}
